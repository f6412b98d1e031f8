import {
  MAX_DETAIL_LENGTH,
  failureDetail,
  newDeletionRequest,
  nextStep,
  recordFailure,
  recordSuccess,
  retryDelayMs,
  startStep,
} from '../../src/privacy/deletion-plan';
import { HotStoreError } from '../../src/sinks/hot-tier/errors';

const AT = '2026-06-01T10:00:00.000Z';
const LATER = '2026-06-01T10:05:00.000Z';

const fresh = () =>
  newDeletionRequest({
    id: 'del_1',
    subjectIds: ['u1', 'anon-1'],
    suppress: true,
    requestedAt: AT,
    stores: ['hot-tier', 'lake-events', 'warehouse'],
  });

describe('deletion plan', () => {
  it('starts PENDING with one PENDING step per store, in the order given', () => {
    const request = fresh();
    expect(request).toEqual({
      id: 'del_1',
      subjectIds: ['u1', 'anon-1'],
      suppress: true,
      status: 'PENDING',
      requestedAt: AT,
      completedAt: null,
      steps: ['hot-tier', 'lake-events', 'warehouse'].map((store) => ({
        store,
        status: 'PENDING',
        removed: null,
        detail: null,
        attempts: 0,
      })),
    });
    expect(nextStep(request)?.store).toBe('hot-tier');
  });

  it('refuses a plan without stores or with a store twice', () => {
    const input = { id: 'd', subjectIds: ['u'], suppress: false, requestedAt: AT };
    expect(() => newDeletionRequest({ ...input, stores: [] })).toThrow(/at least one store/);
    expect(() => newDeletionRequest({ ...input, stores: ['hot-tier', 'hot-tier'] })).toThrow(/twice/);
  });

  it('runs the steps in order, RUNNING while steps are left, COMPLETED with completedAt after the last', () => {
    let request = startStep(fresh(), 'hot-tier');
    expect(request.status).toBe('RUNNING');
    expect(request.steps[0]?.status).toBe('RUNNING');
    request = recordSuccess(request, 'hot-tier', { removed: 4 }, AT);
    expect(request).toMatchObject({ status: 'RUNNING', completedAt: null });
    expect(request.steps[0]).toEqual({
      store: 'hot-tier',
      status: 'COMPLETED',
      removed: 4,
      detail: null,
      attempts: 1,
    });
    expect(nextStep(request)?.store).toBe('lake-events');
    request = recordSuccess(request, 'lake-events', { removed: 2, detail: 'rewrote 1 file' }, AT);
    request = recordSuccess(request, 'warehouse', { removed: 0 }, LATER);
    expect(request).toMatchObject({ status: 'COMPLETED', completedAt: LATER });
    expect(request.steps[1]?.detail).toBe('rewrote 1 file');
    expect(nextStep(request)).toBeNull();
  });

  it('records a failure with its reason and one attempt more; the request is FAILED until the step succeeds', () => {
    let request = recordSuccess(fresh(), 'hot-tier', { removed: 1 }, AT);
    request = recordFailure(request, 'lake-events', 'S3 throttled');
    expect(request.status).toBe('FAILED');
    expect(request.steps[1]).toMatchObject({ status: 'FAILED', detail: 'S3 throttled', attempts: 1 });
    // The failed step stays next: the stores after it wait.
    expect(nextStep(request)?.store).toBe('lake-events');
    request = recordFailure(startStep(request, 'lake-events'), 'lake-events', 'S3 throttled again');
    expect(request.steps[1]).toMatchObject({ status: 'FAILED', attempts: 2 });
    request = startStep(request, 'lake-events');
    expect(request.status).toBe('RUNNING');
    request = recordSuccess(request, 'lake-events', { removed: 3 }, AT);
    expect(request.steps[1]).toEqual({
      store: 'lake-events',
      status: 'COMPLETED',
      removed: 3,
      detail: null,
      attempts: 3,
    });
    expect(request.status).toBe('RUNNING');
  });

  it('leaves the request it was given unchanged', () => {
    const request = fresh();
    const before = JSON.stringify(request);
    recordFailure(startStep(request, 'hot-tier'), 'hot-tier', 'x');
    expect(JSON.stringify(request)).toBe(before);
  });

  it('refuses a store the request has no step for', () => {
    expect(() => recordSuccess(fresh(), 'elsewhere', { removed: 0 }, AT)).toThrow(
      /no step for store elsewhere/,
    );
  });

  it('backs off exponentially from the base, capped', () => {
    const policy = { baseDelayMs: 1000, maxDelayMs: 10_000 };
    expect([1, 2, 3, 4, 5, 6].map((attempts) => retryDelayMs(attempts, policy))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
    expect(retryDelayMs(10_000, policy)).toBe(10_000);
    expect(retryDelayMs(1)).toBe(30_000);
    expect(retryDelayMs(100)).toBe(3_600_000);
  });

  it('describes a failure by the error’s name, code and message, cut to a bounded length', () => {
    expect(failureDetail(new HotStoreError('Hot store scan throttled 5 times', 'HOT_STORE_THROTTLED'))).toBe(
      'HotStoreError HOT_STORE_THROTTLED: Hot store scan throttled 5 times',
    );
    expect(failureDetail(new TypeError('bad'))).toBe('TypeError: bad');
    expect(failureDetail('plain')).toBe('plain');
    const long = failureDetail(new Error('x'.repeat(5000)));
    expect(long).toHaveLength(MAX_DETAIL_LENGTH);
    expect(long.endsWith('…')).toBe(true);
    // Never half a surrogate pair at the cut.
    const emoji = failureDetail('a'.repeat(MAX_DETAIL_LENGTH - 3) + '😀'.repeat(10));
    expect(emoji).toBe(`${'a'.repeat(MAX_DETAIL_LENGTH - 3)}😀…`);
    const cutInPair = failureDetail('a'.repeat(MAX_DETAIL_LENGTH - 2) + '😀'.repeat(10));
    expect(cutInPair).toBe(`${'a'.repeat(MAX_DETAIL_LENGTH - 2)}…`);
  });
});
