/**
 * Identity stitching in the warehouse (docs/identity.md), written once for DuckDB and Redshift.
 *
 * Each load folds its new events into two tables that hold no rule:
 * - `identity_claims`: one row per (person, id, merges_users), the earliest claim (edge time, then
 *   messageId) any event made on the id for the person in that class. The earliest claim of an id
 *   overall, and a person's earliest claims of a class, are always among these rows, so this is
 *   everything the rules read, however many events repeat a claim;
 * - `user_ids`: every userId some event carries.
 * Loads only ever keep the earliest or grow them, so a load folded twice, or loads in any order,
 * give the same rows; an erasure or the retention purge removes claims with their events and folds
 * back the ones the remaining events make (refoldClaims). `identities` is then recomputed from them with the configured rules (junk ids, caps),
 * so a change of rules applies to every claim at the next recompute.
 */

import type { IdentityRules } from '../../events/identity';
import { ALIAS_EVENT, MAX_LINK_HOPS, PREVIOUS_ID_PROPERTY } from '../../events/identity';
import type { SqlDialect } from './dialect';

/**
 * The code points String.prototype.trim removes (ECMAScript WhiteSpace and LineTerminator): the
 * warehouse trims ids exactly as normaliseId does before it compares them with the junk ids.
 */
export const TRIMMED_CHARACTERS: readonly number[] = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
];

/**
 * The claims of some events (`rows`, a table or subquery with the `events` columns message_id,
 * event, user_id, anonymous_id, received_at, merges_users and properties), as claimsOf makes them: an event with a userId claims its anonymousId, an alias its
 * properties.previous_id too (flagged merges_users when the alias may merge users; the
 * anonymousId's claim never is), the previous id first when both are the same id, and nobody
 * claims their own id. Junk ids are left to the recompute, which knows the rules. A claim needs an
 * edge time to be ordered by: rows without one (a time the warehouse could not read) claim nothing.
 */
export function claimsOf(dialect: SqlDialect, rows: string): string {
  const alias = dialect.literal(ALIAS_EVENT);
  const claiming = `
      SELECT s.message_id, s.user_id, s.anonymous_id, s.received_at,
             coalesce(s.merges_users, false) AS merges_users,
             CASE WHEN s.event = ${alias} THEN ${dialect.jsonStringField('s.properties', PREVIOUS_ID_PROPERTY)} END
               AS previous_id
      FROM ${rows} s
      WHERE s.user_id IS NOT NULL AND s.received_at IS NOT NULL
        AND (s.anonymous_id IS NOT NULL OR s.event = ${alias})`;
  return `
    SELECT user_id AS person, previous_id AS id, merges_users, received_at, message_id
    FROM (${claiming}) c WHERE previous_id IS NOT NULL AND previous_id <> user_id
    UNION ALL
    SELECT user_id AS person, anonymous_id AS id, false AS merges_users, received_at, message_id
    FROM (${claiming}) c
    WHERE anonymous_id IS NOT NULL AND anonymous_id <> user_id
      AND (previous_id IS NULL OR previous_id <> anonymous_id)`;
}

/** `a` is earlier than `b` by edge time, then messageId: claimOrder in SQL. */
const earlier = (a: string, b: string): string =>
  `(${a}.received_at < ${b}.received_at OR (${a}.received_at = ${b}.received_at AND ${a}.message_id < ${b}.message_id))`;

const SAME_CLAIM_KEY = (a: string, b: string): string =>
  `${a}.person = ${b}.person AND ${a}.id = ${b}.id AND ${a}.merges_users = ${b}.merges_users`;

/** One fold statement; `counts` marks those whose changed rows mean `identities` must be recomputed. */
export interface IdentityFoldStatement {
  sql: string;
  counts?: true;
}

/**
 * Folds some events (`rows`: see claimsOf) into `identity_claims` and `user_ids`, in the load's
 * transaction. The statements marked `counts` change rows only when `identities` may change: a
 * claim earlier than the one kept, a new (person, id, class), or a new userId that some claim names.
 */
export function identityFold(dialect: SqlDialect, rows: string): IdentityFoldStatement[] {
  return [
    {
      sql: dialect.tempTable(
        'load_claims',
        `SELECT person, id, merges_users, received_at, message_id FROM (
           SELECT c.*, row_number() OVER (
             PARTITION BY person, id, merges_users ORDER BY received_at, message_id
           ) AS rn
           FROM (${claimsOf(dialect, rows)}) c
         ) r WHERE rn = 1`,
      ),
    },
    {
      sql: `DELETE FROM identity_claims USING load_claims n
            WHERE ${SAME_CLAIM_KEY('identity_claims', 'n')} AND ${earlier('n', 'identity_claims')}`,
      counts: true,
    },
    {
      sql: `INSERT INTO identity_claims (person, id, merges_users, received_at, message_id)
            SELECT n.person, n.id, n.merges_users, n.received_at, n.message_id FROM load_claims n
            WHERE NOT EXISTS (SELECT 1 FROM identity_claims c WHERE ${SAME_CLAIM_KEY('c', 'n')})`,
      counts: true,
    },
    { sql: 'DROP TABLE load_claims' },
    {
      sql: dialect.tempTable(
        'load_user_ids',
        `SELECT DISTINCT s.user_id, false AS claimed FROM ${rows} s
         WHERE s.user_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM user_ids u WHERE u.user_id = s.user_id)`,
      ),
    },
    { sql: 'INSERT INTO user_ids (user_id) SELECT user_id FROM load_user_ids' },
    {
      // A new userId changes identities only when a claim names it: its claims stop (or start) counting.
      sql: `UPDATE load_user_ids SET claimed = true
            WHERE user_id IN (SELECT id FROM identity_claims)`,
      counts: true,
    },
    { sql: 'DROP TABLE load_user_ids' },
  ];
}

/**
 * Puts back, for the persons of `persons` (a table or subquery with a `person` column), the earliest
 * claim of each (person, id, class) that `identity_claims` no longer holds, from the events left:
 * after some events were removed (an erasure, the retention purge) and the claims they made with
 * them, a claim that a remaining event also makes is kept, under that event.
 */
export function refoldClaims(dialect: SqlDialect, persons: string): string {
  const rows = `(SELECT * FROM events WHERE user_id IN (SELECT person FROM ${persons}))`;
  return `
    INSERT INTO identity_claims (person, id, merges_users, received_at, message_id)
    SELECT r.person, r.id, r.merges_users, r.received_at, r.message_id FROM (
      SELECT c.*, row_number() OVER (
        PARTITION BY person, id, merges_users ORDER BY received_at, message_id
      ) AS rn
      FROM (${claimsOf(dialect, rows)}) c
    ) r
    WHERE r.rn = 1 AND NOT EXISTS (SELECT 1 FROM identity_claims k WHERE ${SAME_CLAIM_KEY('k', 'r')})`;
}

function checkCap(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

/** The id, as the junk ids are listed: trimmed as String.prototype.trim trims, then lowercased. */
function normalised(dialect: SqlDialect, id: string): string {
  const characters = dialect.literal(String.fromCodePoint(...TRIMMED_CHARACTERS));
  return `lower(${dialect.trim(id, characters)})`;
}

/** Not a junk id; true for every id when the rules list none. */
function notJunk(dialect: SqlDialect, id: string, rules: IdentityRules): string {
  const junk = [...rules.junkIds].sort();
  if (junk.length === 0) return 'true';
  return `${normalised(dialect, id)} NOT IN (${junk.map((j) => dialect.literal(j)).join(', ')})`;
}

/**
 * Of some links of a cycle (rows of identity_links, by alias), the id whose link is the latest by
 * claimOrder: where the hot tier breaks a cycle (only privileged aliases in opposite directions
 * make one), so every id of it finds the same person.
 */
function latestLinkId(links: readonly string[]): string {
  const [first, ...rest] = links as [string, ...string[]];
  if (rest.length === 0) return `${first}.id`;
  const later = rest.map((other) => `NOT ${earlier(first, other)}`).join(' AND ');
  return `CASE WHEN ${later} THEN ${first}.id ELSE ${latestLinkId(rest)} END`;
}

/**
 * The person of the id of link `l1`: its links (`l1`, `l2`… rows of identity_links) followed up at
 * most `hops` times (anonymous → user → user), a cycle broken at its latest link, as the hot tier
 * resolves it.
 */
function personOf(hops: number): { joins: string; person: string } {
  const links = Array.from({ length: hops }, (_, i) => `l${i + 1}`);
  const joins = links
    .slice(1)
    .map((link, i) => `LEFT JOIN identity_links ${link} ON ${link}.id = ${links[i] as string}.person`)
    .join('\n      ');
  // Link k leads from its id to the id of link k + 1: none ends the chain, an earlier id closes a cycle.
  const cases: string[] = [];
  for (let k = 1; k < hops; k += 1) {
    const link = links[k] as string;
    cases.push(`WHEN ${link}.id IS NULL THEN ${links[k - 1] as string}.person`);
    for (let j = 0; j < k; j += 1) {
      cases.push(
        `WHEN ${link}.person = ${links[j] as string}.id THEN ${latestLinkId(links.slice(j, k + 1))}`,
      );
    }
  }
  return {
    joins,
    person: `CASE ${cases.join('\n        ')}\n        ELSE ${links[hops - 1] as string}.person END`,
  };
}

/**
 * Recomputes `identities` from `identity_claims` and `user_ids` with the rules, as docs/identity.md
 * states them: junk ids claim nothing and are never claimed; an id's owner is its earliest claim
 * that can take effect (a userId is owned only by privileged merges);
 * a person keeps the earliest maxAnonymousIds of its ordinary claims and maxMergedUsers of its merge
 * claims (each (id, class) counted once, lost ids included); a claim links only when it is its
 * id's owner, within its cap, and not an ordinary claim on a userId. Ids are resolved to the person
 * their links lead to. Caps are checked integers and junk ids literals: nothing else reaches the SQL.
 */
export function recomputeIdentities(dialect: SqlDialect, rules: IdentityRules): string[] {
  const numbers = dialect.userNumbers;
  const numbered =
    numbers === undefined
      ? { columns: '', values: '', joins: '' }
      : {
          columns: `, ${dialect.identityKey}, ${dialect.identityPerson}`,
          values: ', ni.user_num, np.user_num',
          joins: ` LEFT JOIN ${numbers} ni ON ni.user_key = r.id LEFT JOIN ${numbers} np ON np.user_key = r.person_id`,
        };
  return [
    dialect.tempTable('identity_links', identityLinksQuery(dialect, rules)),
    'DELETE FROM identities',
    `INSERT INTO identities (id, person_id, kind, linked_at, message_id${numbered.columns})
     SELECT r.id, r.person_id, r.kind, r.linked_at, r.message_id${numbered.values}
     FROM (${IDENTITY_ROWS}) r${numbered.joins}`,
    'DROP TABLE identity_links',
  ];
}

/**
 * The links that take effect under the rules, one row per linked id (`id`, `person`,
 * `received_at`, `message_id`, `is_user`), from `identity_claims` and `user_ids`: what
 * IDENTITY_ROWS reads as `identity_links`. Owners are ranked among the claims that can take effect:
 * an ordinary claim on a userId never does, so it must not own the id and block a later privileged
 * merge of that user. Caps are checked integers and junk ids literals: nothing else reaches the SQL.
 */
export function identityLinksQuery(dialect: SqlDialect, rules: IdentityRules): string {
  const maxAnonymous = checkCap('maxAnonymousIds', rules.maxAnonymousIds);
  const maxMerged = checkCap('maxMergedUsers', rules.maxMergedUsers);
  return `SELECT r.id, r.person, r.received_at, r.message_id, r.is_user
       FROM (
         SELECT k.*,
                row_number() OVER (PARTITION BY k.id ORDER BY k.received_at, k.message_id) AS owner_rank
         FROM (
           SELECT c.*, u.user_id IS NOT NULL AS is_user,
                  row_number() OVER (
                    PARTITION BY c.person, c.merges_users ORDER BY c.received_at, c.message_id, c.id
                  ) AS class_rank
           FROM identity_claims c
           LEFT JOIN user_ids u ON u.user_id = c.id
           WHERE ${notJunk(dialect, 'c.person', rules)} AND ${notJunk(dialect, 'c.id', rules)}
         ) k
         WHERE k.merges_users OR NOT k.is_user
       ) r
       WHERE r.owner_rank = 1
         AND r.class_rank <= CASE WHEN r.merges_users THEN ${maxMerged} ELSE ${maxAnonymous} END`;
}

const LINKED_PERSON = personOf(MAX_LINK_HOPS);

/**
 * The identity rows (`id`, `person_id`, `kind`, `linked_at`, `message_id`) of the links in a table
 * or common table expression named `identity_links` (identityLinksQuery's rows), each id resolved
 * to the person its links lead to.
 */
export const IDENTITY_ROWS = `SELECT l1.id,
              ${LINKED_PERSON.person} AS person_id,
              CASE WHEN l1.is_user THEN 'USER' ELSE 'ANONYMOUS' END AS kind,
              l1.received_at AS linked_at, l1.message_id
       FROM identity_links l1
       ${LINKED_PERSON.joins}`;

/**
 * Gives identities' ids the user numbers that loads gave them since the recompute (an anonymous id
 * first seen as some event's own user key after it was linked); DuckDB only (SqlDialect.userNumbers).
 */
export function numberIdentities(dialect: SqlDialect): string | undefined {
  const numbers = dialect.userNumbers;
  if (numbers === undefined) return undefined;
  return `UPDATE identities SET ${dialect.identityKey} = n.user_num FROM ${numbers} n
          WHERE identities.${dialect.identityKey} IS NULL AND n.user_key = identities.id`;
}
