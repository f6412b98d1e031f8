import type { LinkClaim } from '../events/identity';
import type { EventError, FailureType } from '../events/types';

/**
 * A delivered event the hot tier applied only in part (a profile limit) or not at all; it becomes
 * a failed event beside the event itself, so nothing accepted goes missing without a trace.
 */
export interface HotTierFailure {
  messageId: string;
  failureType: Extract<FailureType, 'profile_limit' | 'hot_tier_refused' | 'identity_conflict'>;
  /** What was not applied; names (of traits, events), never values. */
  errors: EventError[];
  /**
   * For an identity conflict, the refused link. A claim can lose after its own batch (an earlier
   * claim on the same id arrives later): its event is then described by the claim alone.
   */
  claim?: LinkClaim;
}

/**
 * Takes a batch's failures before its profiles are written, and throws when it cannot keep them:
 * the batch is then retried and, its profiles still unwritten, reports the same failures again.
 */
export type FailureReporter = (failures: readonly HotTierFailure[]) => Promise<void>;

/** Error codes of profile-limit failures. */
export const TRAIT_DROPPED = 'TRAIT_DROPPED';
export const EVENT_NAME_NOT_COUNTED = 'EVENT_NAME_NOT_COUNTED';
