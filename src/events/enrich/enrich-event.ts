import { toItemId } from '../event-items';
import type { CompiledSchema } from '../schema-registry';
import { createPayloadScrubber, type PayloadScrubber } from '../scrub-payload';
import { isoToMs, msToIso } from '../iso-time';
import type { EventContext, StoredEvent } from '../types';
import { withProperty } from '../with-property';
import { campaignFromUrl } from './campaign';
import { correctEventTime } from './event-time';
import { anonymiseIp } from './ip';
import { createPseudonymiser, hashPersonalData, type PiiRules } from './pii';
import { createPiiDetector, type PiiKind } from './pii-detector';
import { classifyReferrer, DEFAULT_REFERRERS, type ReferrerTable } from './referrer';
import { createUserAgentParser } from './user-agent';

export interface EnricherOptions {
  /** Key of the HMAC-SHA-256 that pseudonymises `x-pii` fields and what the detector finds. */
  piiSecret: string | Buffer;
  /** What counts as personal data in events without a schema; email and phone unless given. */
  piiDetector?: readonly PiiKind[];
  /** Event times further than this before receipt are flagged `too_old`. */
  horizonMs: number;
  referrers?: ReferrerTable;
  userAgentCacheSize?: number;
}

/** The client's own clock readings (epoch ms); the stored event's timestamp already defaults to receipt. */
export interface ClientTimes {
  timestampMs?: number;
  sentAtMs?: number;
}

/**
 * Enriches one schema-valid event. Throws (EnrichmentError, or anything unexpected) for that one
 * event only; the stream processor turns it into an `enrichment_failed` failed event.
 */
export interface Enricher {
  (event: StoredEvent, times: ClientTimes, schema: CompiledSchema | null): StoredEvent;
  /** The same personal-data rules (secret and detector) for the payloads of records that fail. */
  readonly scrub: PayloadScrubber;
}

export const DEFAULT_HORIZON_DAYS = 30;

/** Builds the enricher once per process: the user-agent cache lives as long as it does. */
export function createEnricher(options: EnricherOptions): Enricher {
  const userAgent = createUserAgentParser(options.userAgentCacheSize);
  const referrers = options.referrers ?? DEFAULT_REFERRERS;
  const pii: PiiRules = {
    hash: createPseudonymiser(options.piiSecret),
    detector: createPiiDetector(options.piiDetector),
  };
  // One object literal per event and no Date objects: this runs for every record of every batch,
  // and allocation is most of its cost.
  const enrich = (event: StoredEvent, times: ClientTimes, schema: CompiledSchema | null): StoredEvent => {
    const { context } = event;
    const page = context.page;
    const time = correctEventTime(
      { timestampMs: times.timestampMs, sentAtMs: times.sentAtMs, receivedAtMs: isoToMs(event.receivedAt) },
      options.horizonMs,
    );
    const properties = hashPersonalData(event.properties, schema, pii) as StoredEvent['properties'];
    const item = schema?.itemProperty != null ? properties[schema.itemProperty] : undefined;
    const agent = userAgent(context.userAgent);
    const campaign = campaignFromUrl(page?.url);
    const referrer = classifyReferrer(page?.referrer, page?.url, referrers);
    const moved = times.timestampMs !== undefined && time.timestampMs !== times.timestampMs;
    return {
      messageId: event.messageId,
      event: event.event,
      userId: event.userId,
      anonymousId: event.anonymousId,
      sessionId: event.sessionId,
      timestamp: moved ? msToIso(time.timestampMs) : event.timestamp,
      originalTimestamp: times.timestampMs === undefined ? null : event.timestamp,
      sentAt: event.sentAt,
      receivedAt: event.receivedAt,
      source: event.source,
      properties,
      context:
        context.ip === undefined
          ? context
          : (withProperty(context, 'ip', anonymiseIp(context.ip)) as EventContext),
      processorVersion: event.processorVersion,
      mergesUsers: event.mergesUsers,
      schemaVersion: schema?.version ?? null,
      itemId: toItemId(item),
      enrichment: {
        browser: agent.browser,
        browserVersion: agent.browserVersion,
        os: agent.os,
        osVersion: agent.osVersion,
        deviceType: agent.deviceType,
        isBot: agent.isBot,
        utmSource: campaign.utmSource,
        utmMedium: campaign.utmMedium,
        utmCampaign: campaign.utmCampaign,
        utmTerm: campaign.utmTerm,
        utmContent: campaign.utmContent,
        referrerClass: referrer.referrerClass,
        referrerHost: referrer.referrerHost,
        clockSkewMs: time.clockSkewMs,
        timeFlag: time.timeFlag,
      },
    };
  };
  return Object.assign(enrich, { scrub: createPayloadScrubber(pii) });
}
