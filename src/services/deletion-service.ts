import { randomBytes } from 'node:crypto';
import { newDeletionRequest } from '../privacy/deletion-plan';
import type { DeletionRequest, DeletionRequestStore, SuppressionList } from '../privacy/port';
import type { DeletionWorker } from './deletion-runner';
import { DEFAULT_IDENTITY_RULES, isJunkId, type IdentityRules } from '../events/identity';
import { ApiError, badUserInput } from './errors';
import { checkPersonId } from './person-id';
import type { ProfileService } from './profile-service';

/**
 * The ids of one request, as UTF-8, at most: a request is one DynamoDB item (400 KB), which also
 * holds its steps. A person within the identity caps (docs/identity.md) stays far below it.
 */
export const MAX_SUBJECT_BYTES = 256 * 1024;

/**
 * Unfinished requests at most. Each one's hot-tier step scans the whole table and the runner takes
 * one request at a time, so a script or a leaked ADMIN key asking faster than requests finish would
 * queue work without end and hold up the deletions that matter; 100 is far more than people ask
 * for in the minutes one request takes.
 */
export const MAX_UNFINISHED_DELETIONS = 100;

/** The ids this service gives requests. */
const REQUEST_ID = /^del_[\w-]{16}$/;

const newRequestId = (): string => `del_${randomBytes(12).toString('base64url')}`;

export interface DeletionServiceOptions {
  requests: DeletionRequestStore;
  suppression: SuppressionList;
  profiles: Pick<ProfileService, 'identity'>;
  /** Ids that name no one in particular (docs/identity.md) are refused: erasing one would erase others. */
  identity?: IdentityRules;
  /** Undefined where no runner (and so no eraser) is wired: deletions are then refused, never left to wait. */
  runner: DeletionWorker | undefined;
  now?: () => number;
  newId?: () => string;
  maxUnfinished?: number;
}

export const deletionsUnavailable = (): ApiError =>
  new ApiError('DELETIONS_UNAVAILABLE', 'deletions are not run in this deployment: no eraser is configured');

/** Erasing people (docs/privacy.md#deletion): requests the runner works through, and suppression. */
export class DeletionService {
  private readonly now: () => number;
  private readonly newId: () => string;
  private readonly maxUnfinished: number;

  constructor(private readonly options: DeletionServiceOptions) {
    this.now = options.now ?? Date.now;
    this.newId = options.newId ?? newRequestId;
    this.maxUnfinished = options.maxUnfinished ?? MAX_UNFINISHED_DELETIONS;
  }

  /**
   * Asks for the person of `id` to be erased everywhere: every id the hot tier links to it, or `id`
   * alone when the hot tier never saw it (the lake and the warehouse may still hold it). With
   * `suppress`, their new events are dropped from before the answer on. An unfinished request that
   * already covers the same ids (a retried call) is answered instead of a new one.
   */
  async deleteUser(id: string, suppress: boolean): Promise<DeletionRequest> {
    checkPersonId(id);
    if (isJunkId(id, this.options.identity ?? DEFAULT_IDENTITY_RULES)) {
      throw badUserInput(
        `id: "${id.trim()}" is a placeholder many clients send (docs/identity.md); erasing it would erase other people's events`,
      );
    }
    const runner = this.options.runner;
    if (runner === undefined) throw deletionsUnavailable();
    const identity = await this.options.profiles.identity(id);
    const subjectIds = [...new Set([...(identity?.ids.map((linked) => linked.id) ?? []), id])];
    checkSize(subjectIds);

    const unfinished = await this.options.requests.unfinished();
    const covering = unfinished.find(
      (request) =>
        (request.suppress || !suppress) &&
        subjectIds.every((subject) => request.subjectIds.includes(subject)),
    );
    if (covering !== undefined) return covering;
    if (unfinished.length >= this.maxUnfinished) {
      throw new ApiError(
        'DELETION_BACKLOG_FULL',
        `${unfinished.length} deletion requests are unfinished, the most there may be; ask again once some complete (deletionRequest shows their progress)`,
      );
    }

    const request = newDeletionRequest({
      id: this.newId(),
      subjectIds,
      suppress,
      requestedAt: new Date(this.now()).toISOString(),
      stores: runner.stores,
    });
    // Before the request exists, so no step erases while new events may still land.
    if (suppress) await this.options.suppression.suppress(subjectIds, request.id);
    await this.options.requests.create(request);
    runner.wake();
    return request;
  }

  /** A request and how far it got; null when there is none with that id. */
  async deletionRequest(id: string): Promise<DeletionRequest | null> {
    if (!REQUEST_ID.test(id)) throw badUserInput('id: a deletion request id, like del_AbC123dEf456gHi7');
    return this.options.requests.get(id);
  }

  /**
   * Lifts the suppression of `id` and of every id the same request suppressed with it; answers
   * the ids lifted (none when `id` is not suppressed). The request's erasure is not undone.
   */
  async unsuppressUser(id: string): Promise<string[]> {
    checkPersonId(id);
    const requestId = (await this.options.suppression.suppressedBy([id])).get(id);
    if (requestId === undefined) return [];
    const request = await this.options.requests.get(requestId);
    const group = request === null ? [id] : [...new Set([id, ...request.subjectIds])];
    // An id suppressed again since, by a later request, stays so.
    const held = await this.options.suppression.suppressedBy(group);
    const lifted = group.filter((member) => held.get(member) === requestId);
    await this.options.suppression.unsuppress(lifted);
    return lifted;
  }
}

function checkSize(subjectIds: readonly string[]): void {
  const bytes = subjectIds.reduce((sum, subject) => sum + Buffer.byteLength(subject, 'utf8'), 0);
  if (bytes > MAX_SUBJECT_BYTES) {
    throw new ApiError(
      'DELETION_TOO_LARGE',
      `the person has ${subjectIds.length} ids (${Math.ceil(bytes / 1024)} KiB), more than one request holds (${MAX_SUBJECT_BYTES / 1024} KiB); unlink some ids (unlinkIdentity) and delete them on their own`,
    );
  }
}
