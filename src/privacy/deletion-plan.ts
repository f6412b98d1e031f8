/**
 * How a deletion request moves: its steps in the order the caller gave, each erased once and then
 * never again, and the request's status following from them. Pure: the runner does the erasing
 * and the saving (src/services/deletion-runner.ts), this module only says what comes next.
 */
import type { DeletionRequest, DeletionStatus, DeletionStep, ErasureResult } from './port';

export interface NewDeletion {
  id: string;
  subjectIds: readonly string[];
  suppress: boolean;
  /** ISO 8601. */
  requestedAt: string;
  /** One step per store, run in this order. */
  stores: readonly string[];
}

/** How long a failed step waits before its next attempt. */
export interface RetryPolicy {
  /** The wait after the first failure; it doubles with every further one. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Failures are mostly a store being away (a warehouse paused, a bucket throttling), so the first
 * retry comes soon, and a store away for long is still tried every hour: a deletion must finish
 * within weeks, not seconds, and hourly attempts cost nothing worth counting.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 30_000, maxDelayMs: 3_600_000 };

/** A failure's detail is kept on the request, which is one DynamoDB item: it must stay small. */
export const MAX_DETAIL_LENGTH = 1000;

/** A request with one PENDING step per store, nothing erased yet. */
export function newDeletionRequest(input: NewDeletion): DeletionRequest {
  if (input.stores.length === 0) throw new Error('a deletion needs at least one store to erase');
  if (new Set(input.stores).size !== input.stores.length) {
    throw new Error(`each store is one step of a deletion: ${input.stores.join(', ')} names one twice`);
  }
  return {
    id: input.id,
    subjectIds: [...input.subjectIds],
    suppress: input.suppress,
    status: 'PENDING',
    requestedAt: input.requestedAt,
    completedAt: null,
    steps: input.stores.map((store) => ({
      store,
      status: 'PENDING',
      removed: null,
      detail: null,
      attempts: 0,
    })),
  };
}

/** The step to run now: the first not COMPLETED (a later store waits for an earlier one), or null when all are. */
export function nextStep(request: DeletionRequest): DeletionStep | null {
  return request.steps.find((step) => step.status !== 'COMPLETED') ?? null;
}

/** The step marked RUNNING: the request shows which store is being erased, also after a crash in it. */
export function startStep(request: DeletionRequest, store: string): DeletionRequest {
  return withStep(request, store, (step) => ({ ...step, status: 'RUNNING' }), null);
}

/** The step COMPLETED with what its eraser removed; the request COMPLETED at `at` when it was the last. */
export function recordSuccess(
  request: DeletionRequest,
  store: string,
  result: ErasureResult,
  at: string,
): DeletionRequest {
  return withStep(
    request,
    store,
    (step) => ({
      ...step,
      status: 'COMPLETED',
      removed: result.removed,
      detail: result.detail === undefined ? null : clip(result.detail),
      attempts: step.attempts + 1,
    }),
    at,
  );
}

/** The step FAILED with why, one attempt more; the request FAILED until a retry of the step succeeds. */
export function recordFailure(request: DeletionRequest, store: string, detail: string): DeletionRequest {
  return withStep(
    request,
    store,
    (step) => ({ ...step, status: 'FAILED', detail: clip(detail), attempts: step.attempts + 1 }),
    null,
  );
}

/** The wait before retrying a step that failed `attempts` times: doubling from the base, capped. */
export function retryDelayMs(attempts: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number {
  const doublings = Math.max(0, attempts - 1);
  // 2 ** 60 and beyond would lose precision long after the cap is reached.
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(doublings, 50));
}

/**
 * Why an eraser failed, for DeletionStep.detail: the error's name, its stable code when it has one,
 * and its message. Adapters' messages name kinds of records, never a person's values.
 */
export function failureDetail(error: unknown): string {
  if (!(error instanceof Error)) return clip(String(error));
  const code = (error as { code?: unknown }).code;
  const label = typeof code === 'string' && code !== '' ? `${error.name} ${code}` : error.name;
  return clip(`${label}: ${error.message}`);
}

/**
 * The request's status as its steps make it: COMPLETED when every step is, FAILED while a step's
 * last attempt failed, PENDING before any step started, RUNNING in between.
 */
export function statusOf(steps: readonly DeletionStep[]): DeletionStatus {
  if (steps.every((step) => step.status === 'COMPLETED')) return 'COMPLETED';
  if (steps.some((step) => step.status === 'FAILED')) return 'FAILED';
  if (steps.every((step) => step.status === 'PENDING')) return 'PENDING';
  return 'RUNNING';
}

function withStep(
  request: DeletionRequest,
  store: string,
  change: (step: DeletionStep) => DeletionStep,
  at: string | null,
): DeletionRequest {
  if (!request.steps.some((step) => step.store === store)) {
    throw new Error(`deletion ${request.id} has no step for store ${store}`);
  }
  const steps = request.steps.map((step) => (step.store === store ? change(step) : step));
  const status = statusOf(steps);
  return {
    ...request,
    steps,
    status,
    completedAt: status === 'COMPLETED' ? (request.completedAt ?? at) : null,
  };
}

function clip(text: string): string {
  if (text.length <= MAX_DETAIL_LENGTH) return text;
  const head = text.slice(0, MAX_DETAIL_LENGTH - 1);
  // Never half a surrogate pair: the detail is stored and shown as text.
  return `${/[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head}…`;
}
