import type { Enrichment } from '../types';

export interface EventTimes {
  /** The client's event time (epoch ms), if it sent one. */
  timestampMs?: number;
  /** When the client sent the event (epoch ms), by its own clock. */
  sentAtMs?: number;
  /** When the edge (or the stream, for direct producers) received it (epoch ms). */
  receivedAtMs: number;
}

export interface CorrectedTime {
  /** The event time on the server's clock (epoch ms). */
  timestampMs: number;
  clockSkewMs: number | null;
  timeFlag: Enrichment['timeFlag'];
}

const FUTURE_TOLERANCE_MS = 24 * 3_600_000;

/**
 * Corrects event time for client clock skew. The client stamps `timestamp` and `sentAt` with the
 * same (possibly wrong) clock, so `timestamp + (receivedAt − sentAt)` is the event time on the
 * server's clock (network latency is part of the offset, as with Snowplow's derived timestamp).
 * Times over 24 h after receipt or older than the horizon before it are flagged, not dropped;
 * receipt rather than "now" is the reference so a replay flags an event exactly as the first run did.
 */
export function correctEventTime(times: EventTimes, horizonMs: number): CorrectedTime {
  const received = times.receivedAtMs;
  const clockSkewMs = times.sentAtMs === undefined ? null : received - times.sentAtMs;
  const corrected = times.timestampMs === undefined ? received : times.timestampMs + (clockSkewMs ?? 0);
  const timeFlag =
    corrected > received + FUTURE_TOLERANCE_MS
      ? 'future'
      : corrected < received - horizonMs
        ? 'too_old'
        : null;
  return { timestampMs: corrected, clockSkewMs, timeFlag };
}
