/**
 * Erasing a person (GDPR/CCPA): the ports the deletion runner works through. A deletion request
 * names every id of one person (docs/identity.md); each store has an eraser that removes every
 * record of those ids, and the runner takes the stores one step at a time, saving the request
 * after each so a restart resumes where it stopped (docs/privacy.md#deletion).
 */

export type DeletionStatus = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED';

/** One store's part of a deletion. */
export interface DeletionStep {
  /** The store, as an eraser names it (`hot-tier`, `warehouse`, `lake-events`, …). */
  store: string;
  status: DeletionStatus;
  /** Records removed (rows, items, events in rewritten files); null until the step completes. */
  removed: number | null;
  /** Why the last attempt failed, or what the step did; null when there is nothing to say. */
  detail: string | null;
  attempts: number;
}

export interface DeletionRequest {
  id: string;
  /** Every id of the person, as resolved when the deletion was asked. */
  subjectIds: string[];
  /** Whether new events for these ids are dropped until unsuppressUser. */
  suppress: boolean;
  status: DeletionStatus;
  /** ISO 8601. */
  requestedAt: string;
  completedAt: string | null;
  steps: DeletionStep[];
}

/** Where deletion requests live, durably, so a crash or restart resumes them. */
export interface DeletionRequestStore {
  /** Stores a new request; a request with the same id is left as it is. */
  create(request: DeletionRequest): Promise<void>;
  get(id: string): Promise<DeletionRequest | null>;
  /** Saves a request's new state. */
  save(request: DeletionRequest): Promise<void>;
  /** Requests not COMPLETED (PENDING, RUNNING, or FAILED with steps left to retry), oldest first. */
  unfinished(): Promise<DeletionRequest[]>;
}

/** Ids whose new events are dropped, at the edge and in the stream, and stored nowhere. */
export interface SuppressionList {
  suppress(ids: readonly string[], requestId: string): Promise<void>;
  unsuppress(ids: readonly string[]): Promise<void>;
  /** The ids among `ids` that are suppressed. */
  suppressed(ids: readonly string[]): Promise<Set<string>>;
  /** The suppressed ids among `ids`, each with the id of the request that suppressed it. */
  suppressedBy(ids: readonly string[]): Promise<Map<string, string>>;
}

/** What one eraser removed. */
export interface ErasureResult {
  removed: number;
  detail?: string;
}

/** Removes every record of a person from one store. */
export interface PersonEraser {
  /** The step's store name, shown in DeletionStep.store. */
  readonly store: string;
  /**
   * Removes every record naming one of `ids` (as userId, anonymousId, alias previous id, or any
   * other id column). Idempotent: run again after a crash or on a retry, it removes what is
   * left, and 0 once nothing is.
   */
  erase(ids: readonly string[]): Promise<ErasureResult>;
}

/**
 * What the pipeline keeps per messageId beside the events themselves: the edge's dedupe marker and
 * the hot tier's claim. They hold no id of the person, only the messageId, so they are found
 * through the person's events, and must be erased before those events are.
 */
export interface MessageMarkers {
  /** Deletes every marker of `messageIds`; answers how many there were. Absent ones are no error. */
  erase(messageIds: readonly string[]): Promise<number>;
}
