import type { Enrichment, ReferrerClass } from '../types';
import referrerList from '../data/referrers.json';

export type ReferrerFields = Pick<Enrichment, 'referrerClass' | 'referrerHost'>;

/** Known referrer domains by class; a host matches its own entry or any parent domain's. */
export type ReferrerTable = ReadonlyMap<string, Exclude<ReferrerClass, 'internal' | 'other'>>;

/** Builds the lookup from the data file's shape: class → list of domains. */
export function referrerTable(
  lists: Partial<Record<'search' | 'social' | 'email', string[]>>,
): ReferrerTable {
  const table = new Map<string, 'search' | 'social' | 'email'>();
  for (const kind of ['search', 'social', 'email'] as const) {
    for (const domain of lists[kind] ?? []) table.set(domain.toLowerCase(), kind);
  }
  return table;
}

/** The shipped list, src/events/data/referrers.json. */
export const DEFAULT_REFERRERS = referrerTable(referrerList);

const stripWww = (host: string) => (host.startsWith('www.') ? host.slice(4) : host);

// The host of an ordinary http(s) URL without a full URL parse, which would cost more than the rest of enrichment.
const SIMPLE_HTTP_HOST = /^https?:\/\/([a-z0-9.-]+)(?=[:/?#]|$)/i;

function hostOf(url: string | undefined): string | null {
  if (url === undefined || url === '') return null;
  const simple = SIMPLE_HTTP_HOST.exec(url);
  if (simple?.[1] !== undefined) return simple[1].toLowerCase();
  try {
    const host = new URL(url).hostname.toLowerCase();
    return host === '' ? null : host;
  } catch {
    return null;
  }
}

/**
 * Classifies where a visit came from: internal when the referrer is the page's own site, else the
 * class of the most specific listed domain (mail.google.com is email, google.com search), else other.
 */
export function classifyReferrer(
  referrer: string | undefined,
  pageUrl: string | undefined,
  table: ReferrerTable = DEFAULT_REFERRERS,
): ReferrerFields {
  const host = hostOf(referrer);
  if (host === null) return { referrerClass: null, referrerHost: null };
  const pageHost = hostOf(pageUrl);
  if (pageHost !== null && stripWww(pageHost) === stripWww(host))
    return { referrerClass: 'internal', referrerHost: host };
  for (let candidate = host; ;) {
    const kind = table.get(candidate);
    if (kind !== undefined) return { referrerClass: kind, referrerHost: host };
    const dot = candidate.indexOf('.');
    if (dot < 0) break;
    candidate = candidate.slice(dot + 1);
  }
  return { referrerClass: 'other', referrerHost: host };
}
