import { ENVELOPE_INVALID } from '../envelope';
import { isEventTimeMs } from '../iso-time';
import type { Enrichment, EventError } from '../types';

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
  const corrected = correctedTimeMs(times.timestampMs, times.sentAtMs, received);
  const timeFlag =
    corrected > received + FUTURE_TOLERANCE_MS
      ? 'future'
      : corrected < received - horizonMs
        ? 'too_old'
        : null;
  return { timestampMs: corrected, clockSkewMs, timeFlag };
}

/** The event time on the server's clock: `timestamp + (receivedAt − sentAt)`, receipt without a timestamp. */
function correctedTimeMs(
  timestampMs: number | undefined,
  sentAtMs: number | undefined,
  receivedAtMs: number,
): number {
  if (timestampMs === undefined) return receivedAtMs;
  return sentAtMs === undefined ? timestampMs : timestampMs + (receivedAtMs - sentAtMs);
}

const outOfRange = (path: string, what: string): EventError => ({
  code: ENVELOPE_INVALID,
  path,
  message: `${what} must be in the years 1000 to 9999 (UTC)`,
});

/**
 * The errors of client times the pipeline does not store (see isEventTimeMs), or undefined when
 * there are none: a timestamp or sentAt outside the years 1000 to 9999, or a timestamp that the
 * correction for the client's clock (a sentAt far from receipt) moves out of them. Such an event is
 * refused, not clamped: a time made up for it would be counted as if the client had sent it.
 */
export function eventTimeErrors(
  { timestampMs, sentAtMs }: Omit<EventTimes, 'receivedAtMs'>,
  receivedAtMs: number,
): EventError[] | undefined {
  const timestampOk = timestampMs === undefined || isEventTimeMs(timestampMs);
  const sentAtOk = sentAtMs === undefined || isEventTimeMs(sentAtMs);
  if (timestampOk && sentAtOk && isEventTimeMs(correctedTimeMs(timestampMs, sentAtMs, receivedAtMs))) {
    return undefined;
  }
  const errors: EventError[] = [];
  if (!timestampOk) errors.push(outOfRange('/timestamp', 'timestamp'));
  if (!sentAtOk) errors.push(outOfRange('/sentAt', 'sentAt'));
  if (errors.length === 0) {
    errors.push(
      outOfRange('/sentAt', 'timestamp corrected by the client clock offset (receivedAt - sentAt)'),
    );
  }
  return errors;
}
