/**
 * Identity stitching rules, shared by the hot tier and the warehouse so both link the same ids.
 *
 * A link claims that an id (an anonymous id, or a userId merged by a privileged alias) belongs to a
 * person, named by a userId. An event carrying both `userId` and `anonymousId` claims the anonymous
 * id for the user; an `alias` event claims its `previous_id` for its `userId`. Of several claims on
 * one id, the earliest by edge time (`receivedAt`, then messageId) wins, whatever order the stream
 * delivers them in, so every store reaches the same links. See docs/identity.md.
 */

/** The kind of a linked id. */
export type IdKind = 'USER' | 'ANONYMOUS';

/**
 * Ids that name nobody in particular: what broken clients send (`null`, `undefined`,
 * `[object Object]`), placeholders and test values. Compared trimmed and lowercased. An event with
 * one of them still counts under it; it just never links to anyone.
 */
export const DEFAULT_JUNK_IDS: readonly string[] = [
  '',
  'null',
  'undefined',
  'nan',
  'none',
  'nil',
  '0',
  '-1',
  'true',
  'false',
  '[object object]',
  'anonymous',
  'anon',
  'guest',
  'unknown',
  'user',
  'test',
  'id',
  'email',
  'distinct_id',
  'distinctid',
  'not_authenticated',
  'not authenticated',
  '00000000-0000-0000-0000-000000000000',
];

export interface IdentityRules {
  /** Lowercased, trimmed ids that never link (DEFAULT_JUNK_IDS plus configured ones). */
  junkIds: ReadonlySet<string>;
  /** The anonymous ids a person keeps: the earliest links win, later ones are refused. */
  maxAnonymousIds: number;
  /** The userIds a person may absorb through privileged `alias` calls. */
  maxMergedUsers: number;
  /**
   * Event `source` values (direct producers) whose `alias` may merge two userIds, besides an alias
   * sent through the API with a key holding ADMIN.
   */
  mergeSources: ReadonlySet<string>;
}

export const DEFAULT_MAX_ANONYMOUS_IDS = 100;
export const DEFAULT_MAX_MERGED_USERS = 20;

export const DEFAULT_IDENTITY_RULES: IdentityRules = {
  junkIds: new Set(DEFAULT_JUNK_IDS),
  maxAnonymousIds: DEFAULT_MAX_ANONYMOUS_IDS,
  maxMergedUsers: DEFAULT_MAX_MERGED_USERS,
  mergeSources: new Set(),
};

/** Rules with configured extras: more junk ids and merge sources, other caps. */
export function identityRules(options: {
  extraJunkIds?: readonly string[];
  maxAnonymousIds?: number;
  maxMergedUsers?: number;
  mergeSources?: readonly string[];
}): IdentityRules {
  return {
    junkIds: new Set([...DEFAULT_JUNK_IDS, ...(options.extraJunkIds ?? []).map(normaliseId)]),
    maxAnonymousIds: options.maxAnonymousIds ?? DEFAULT_MAX_ANONYMOUS_IDS,
    maxMergedUsers: options.maxMergedUsers ?? DEFAULT_MAX_MERGED_USERS,
    mergeSources: new Set(options.mergeSources ?? []),
  };
}

/** How ids are compared with the junk list. */
export function normaliseId(id: string): string {
  return id.trim().toLowerCase();
}

export function isJunkId(id: string, rules: IdentityRules): boolean {
  return rules.junkIds.has(normaliseId(id));
}

/** The event whose `properties.previous_id` is claimed for its userId (Segment's alias call). */
export const ALIAS_EVENT = 'alias';
export const PREVIOUS_ID_PROPERTY = 'previous_id';

/** Error codes of IDENTITY_CONFLICT failed events. */
export const ID_TAKEN = 'ID_TAKEN';
export const ANONYMOUS_ID_LIMIT = 'ANONYMOUS_ID_LIMIT';
export const MERGED_USER_LIMIT = 'MERGED_USER_LIMIT';
export const USER_MERGE_NOT_ALLOWED = 'USER_MERGE_NOT_ALLOWED';

/** One event's claim that `id` belongs to the person `personId`. */
export interface LinkClaim {
  id: string;
  personId: string;
  /** Edge time of the claiming event, ISO 8601: when the link was made. */
  linkedAt: string;
  messageId: string;
  /** The claiming event's name, kept to describe a claim refused after its event passed. */
  event: string;
  /** An alias allowed to merge two userIds (ADMIN key or a merge source). */
  mergesUsers: boolean;
}

/** Earliest first: edge time, then messageId. The one order every store agrees on. */
export function claimOrder(a: LinkClaim, b: LinkClaim): number {
  if (a.linkedAt !== b.linkedAt) return a.linkedAt < b.linkedAt ? -1 : 1;
  return a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0;
}

/** What an event may claim, before any store is read. */
export interface ClaimSource {
  messageId: string;
  event: string;
  userId: string | null;
  anonymousId: string | null;
  /** `properties.previous_id` of an alias event. */
  previousId: string | null;
  receivedAt: string;
  mergesUsers: boolean;
}

/**
 * The links an event claims: an event with a userId claims its anonymous id for the user; an alias
 * claims its previous id too. Junk ids, and an id claimed for itself, claim nothing.
 */
export function claimsOf(source: ClaimSource, rules: IdentityRules): LinkClaim[] {
  const { userId } = source;
  if (userId === null || isJunkId(userId, rules)) return [];
  const claims: LinkClaim[] = [];
  const claim = (id: string | null, mergesUsers: boolean): void => {
    if (id === null || id === userId || isJunkId(id, rules)) return;
    if (claims.some((c) => c.id === id)) return;
    claims.push({
      id,
      personId: userId,
      linkedAt: source.receivedAt,
      messageId: source.messageId,
      event: source.event,
      mergesUsers,
    });
  };
  if (source.event === ALIAS_EVENT) claim(source.previousId, source.mergesUsers);
  claim(source.anonymousId, false);
  return claims;
}

/** How many links a person id is followed through: an anonymous id, its user, the user it merged into. */
export const MAX_LINK_HOPS = 3;
