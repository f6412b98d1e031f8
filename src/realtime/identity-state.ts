import {
  ANONYMOUS_ID_LIMIT,
  claimOrder,
  ID_TAKEN,
  MERGED_USER_LIMIT,
  USER_MERGE_NOT_ALLOWED,
  type IdentityRules,
  type LinkClaim,
} from '../events/identity';

/**
 * What the hot tier keeps about one id's identity, beside its profile. Every field only moves
 * toward a fixed point (a flag set once, the earliest claim, the earliest members), so applying the
 * same claims twice, or two shards' claims in either order, gives the same state. Which links hold
 * is decided when reading (person.ts), from these states alone.
 */
export interface IdentityState {
  /** The id has been some event's userId: an ordinary claim on it never takes effect. */
  isUser: boolean;
  /** The earliest ordinary claim on this id (claimOrder), whoever it names. */
  earliestClaim: LinkClaim | null;
  /**
   * The earliest privileged claim (an alias allowed to merge users). Kept apart because an
   * ordinary claim stops counting once the id shows up as a userId, and must not then block one.
   */
  earliestMerge: LinkClaim | null;
  /** When an admin unlinked the id: from then on no claim on it takes effect. */
  unlinkedAt: string | null;
  /**
   * The earliest claims naming this id as their person, one per claimed id and class (ordinary or
   * merge), each class within its cap: the links this person may hold, earliest first.
   */
  members: LinkClaim[];
}

/** What one batch does to identities. */
export interface IdentityChanges {
  /** Ids seen as a userId. */
  users: ReadonlySet<string>;
  /** Claims in stream order. */
  claims: readonly LinkClaim[];
}

export function emptyIdentity(): IdentityState {
  return { isUser: false, earliestClaim: null, earliestMerge: null, unlinkedAt: null, members: [] };
}

/**
 * A stored state with every field present: a store may drop null attributes (DynamoDB's document
 * client reads them back as absent), and states written before a field existed lack it.
 */
export function identityState(stored: Partial<IdentityState>): IdentityState {
  return {
    isUser: stored.isUser ?? false,
    earliestClaim: stored.earliestClaim ?? null,
    earliestMerge: stored.earliestMerge ?? null,
    unlinkedAt: stored.unlinkedAt ?? null,
    members: stored.members ?? [],
  };
}

const earliest = (a: LinkClaim | null, b: LinkClaim | null): LinkClaim | null =>
  a === null ? b : b === null ? a : claimOrder(a, b) <= 0 ? a : b;

/**
 * The claim that owns the id: the earliest that can take effect. An ordinary claim cannot once the
 * id is a userId. Null when unlinked or unclaimed.
 */
export function ownerOf(state: IdentityState): LinkClaim | null {
  if (state.unlinkedAt !== null) return null;
  return state.isUser ? state.earliestMerge : earliest(state.earliestClaim, state.earliestMerge);
}

/** The state with `claim` offered to its owner registers. */
function withClaim(state: IdentityState, claim: LinkClaim): IdentityState {
  if (claim.mergesUsers) {
    const earliestMerge = earliest(state.earliestMerge, claim);
    return earliestMerge === state.earliestMerge ? state : { ...state, earliestMerge };
  }
  const earliestClaim = earliest(state.earliestClaim, claim);
  return earliestClaim === state.earliestClaim ? state : { ...state, earliestClaim };
}

const classOf = (claim: LinkClaim) => (claim.mergesUsers ? 'merge' : 'ordinary');

function capOf(claim: LinkClaim, rules: IdentityRules): number {
  return claim.mergesUsers ? rules.maxMergedUsers : rules.maxAnonymousIds;
}

/**
 * The members with one more claim: kept when it is the earliest of its id and class and within its
 * class's cap. Returns the new list and the claim pushed past the cap, if any (possibly `claim`).
 */
function withMember(
  members: readonly LinkClaim[],
  claim: LinkClaim,
  rules: IdentityRules,
): { members: LinkClaim[]; pushedOut: LinkClaim | null } {
  const same = members.find((m) => m.id === claim.id && classOf(m) === classOf(claim));
  if (same !== undefined && claimOrder(same, claim) <= 0) return { members: [...members], pushedOut: null };
  const others = members.filter((m) => m !== same);
  const ofClass = [...others.filter((m) => classOf(m) === classOf(claim)), claim].sort(claimOrder);
  const cap = capOf(claim, rules);
  const kept = ofClass.slice(0, cap);
  const pushedOut = ofClass[cap] ?? null;
  const rest = others.filter((m) => classOf(m) !== classOf(claim));
  return { members: [...rest, ...kept].sort(claimOrder), pushedOut };
}

/** An id's state after this batch's changes to it, or null when they change nothing. */
export function reduceIdentity(
  id: string,
  stored: IdentityState | null,
  changes: IdentityChanges,
  rules: IdentityRules,
): IdentityState | null {
  const state = stored === null ? emptyIdentity() : identityState(stored);
  let next = state;
  if (changes.users.has(id) && !next.isUser) next = { ...next, isUser: true };
  for (const claim of changes.claims) {
    if (claim.id === id && next.unlinkedAt === null) next = withClaim(next, claim);
    if (claim.personId === id) {
      const { members } = withMember(next.members, claim, rules);
      if (!sameClaims(members, next.members)) next = { ...next, members };
    }
  }
  return next === state ? null : next;
}

function sameClaims(a: readonly LinkClaim[], b: readonly LinkClaim[]): boolean {
  return (
    a.length === b.length &&
    a.every((claim, i) => claim.messageId === b[i]?.messageId && claim.id === b[i]?.id)
  );
}

/** A claim this batch found refused, with why. */
export interface RefusedClaim {
  claim: LinkClaim;
  code: string;
  message: string;
}

/**
 * The claims that lost, found while this batch's changes are applied to the states as read:
 * a claim on an id an earlier claim holds (or the later claim an earlier one displaces), a claim
 * past its person's cap (or the one it pushes out), and an ordinary claim on an id that is a
 * userId. Each loser is found once, by the batch that makes it lose; a redelivery of that batch
 * finds it again. Pure: the same states and batch give the same answer.
 */
export function refusedClaims(
  read: (id: string) => IdentityState | null,
  changes: IdentityChanges,
  rules: IdentityRules,
): RefusedClaim[] {
  const states = new Map<string, IdentityState>();
  const stateOf = (id: string): IdentityState => {
    const known = states.get(id);
    if (known !== undefined) return known;
    const stored = read(id);
    return stored === null ? emptyIdentity() : identityState(stored);
  };
  const refused: RefusedClaim[] = [];
  const refuse = (claim: LinkClaim, code: string, message: string) => {
    if (!refused.some((r) => r.claim.messageId === claim.messageId && r.code === code)) {
      refused.push({ claim, code, message });
    }
  };

  for (const user of changes.users) {
    const state = stateOf(user);
    if (state.isUser) continue;
    const owner = ownerOf(state);
    if (owner !== null && !owner.mergesUsers) {
      refuse(
        owner,
        USER_MERGE_NOT_ALLOWED,
        'the claimed id is a userId; only a privileged alias merges users',
      );
    }
    states.set(user, { ...state, isUser: true });
  }
  for (const claim of changes.claims) {
    const target = stateOf(claim.id);
    if (target.unlinkedAt !== null) continue;
    if (!claim.mergesUsers && target.isUser) {
      refuse(
        claim,
        USER_MERGE_NOT_ALLOWED,
        'the claimed id is a userId; only a privileged alias merges users',
      );
    } else {
      const before = ownerOf(target);
      const next = withClaim(target, claim);
      const after = ownerOf(next);
      if (before !== null && before.personId !== claim.personId) {
        refuse(
          after === claim ? before : claim,
          ID_TAKEN,
          'the id already belongs to another person (the earliest link wins)',
        );
      }
      states.set(claim.id, next);
    }
    const person = stateOf(claim.personId);
    const { members, pushedOut } = withMember(person.members, claim, rules);
    states.set(claim.personId, { ...person, members });
    if (pushedOut !== null) {
      const [code, what] = pushedOut.mergesUsers
        ? [MERGED_USER_LIMIT, `${rules.maxMergedUsers} merged users`]
        : [ANONYMOUS_ID_LIMIT, `${rules.maxAnonymousIds} anonymous ids`];
      refuse(pushedOut, code, `the person keeps its earliest ${what}`);
    }
  }
  return refused;
}

/**
 * The state without any claim naming one of `ids`, as the claimed id or as the person (erasing a
 * person, docs/privacy.md), with how many claims went; null when none named them.
 */
export function withoutIds(
  stored: Partial<IdentityState>,
  ids: ReadonlySet<string>,
): { state: IdentityState; removed: number } | null {
  const state = identityState(stored);
  const names = (claim: LinkClaim | null) => claim !== null && (ids.has(claim.id) || ids.has(claim.personId));
  const members = state.members.filter((claim) => !names(claim));
  const removed =
    state.members.length -
    members.length +
    (names(state.earliestClaim) ? 1 : 0) +
    (names(state.earliestMerge) ? 1 : 0);
  if (removed === 0) return null;
  return {
    state: {
      ...state,
      earliestClaim: names(state.earliestClaim) ? null : state.earliestClaim,
      earliestMerge: names(state.earliestMerge) ? null : state.earliestMerge,
      members,
    },
    removed,
  };
}
