import { DeletionService, MAX_SUBJECT_BYTES } from '../../src/services/deletion-service';
import type { DeletionWorker } from '../../src/services/deletion-runner';
import type { Identity } from '../../src/services/profile-service';
import type { Services } from '../../src/services/services';
import { MemoryDeletionRequestStore, MemorySuppressionList } from '../helpers/in-memory-privacy';
import { HOT_READER, operationRunner, type OperationRunner } from '../helpers/execute-operation';

const DELETE = `mutation ($id: ID!, $suppress: Boolean) {
  deleteUser(id: $id, suppress: $suppress) {
    id subjectIds status requestedAt completedAt steps { store status removed detail }
  }
}`;
const DELETE_DEFAULT = 'mutation ($id: ID!) { deleteUser(id: $id) { id subjectIds } }';
const REQUEST = 'query ($id: ID!) { deletionRequest(id: $id) { id status subjectIds } }';
const UNSUPPRESS = 'mutation ($id: ID!) { unsuppressUser(id: $id) }';
const NOW = Date.parse('2026-06-01T10:00:00Z');

const person = (personId: string, ...others: string[]): Identity => ({
  personId,
  ids: [personId, ...others].map((id) => ({
    id,
    kind: id === personId ? 'USER' : 'ANONYMOUS',
    linkedAt: '',
  })),
});

describe('deletion service over GraphQL', () => {
  let api: OperationRunner;
  let requests: MemoryDeletionRequestStore;
  let suppression: MemorySuppressionList;
  let people: Map<string, Identity>;
  let wakes: number;
  let ids: number;

  const start = async (options: { runner?: DeletionWorker | null; maxUnfinished?: number } = {}) => {
    requests = new MemoryDeletionRequestStore();
    suppression = new MemorySuppressionList();
    people = new Map();
    wakes = 0;
    ids = 0;
    const runner: DeletionWorker = {
      stores: ['hot-tier', 'warehouse'],
      wake: () => {
        wakes += 1;
      },
    };
    const deletions = new DeletionService({
      requests,
      suppression,
      profiles: { identity: async (id) => people.get(id) ?? null },
      runner: options.runner === null ? undefined : (options.runner ?? runner),
      now: () => NOW,
      newId: () => `del_${String(++ids).padStart(16, '0')}`,
      maxUnfinished: options.maxUnfinished,
    });
    api = await operationRunner({ deletions } as Partial<Services>);
  };

  afterEach(async () => {
    await api?.stop();
  });

  const codeOf = (result: { errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }) =>
    result.errors?.[0]?.extensions?.code;

  it('deletes every id of the person, suppressing them first, and wakes the runner', async () => {
    await start();
    const ann = person('ann', 'ann-phone', 'ann-laptop');
    for (const id of ['ann', 'ann-phone', 'ann-laptop']) people.set(id, ann);

    const answer = await api.run(DELETE, { id: 'ann-phone' });
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.deleteUser).toEqual({
      id: 'del_0000000000000001',
      subjectIds: ['ann', 'ann-phone', 'ann-laptop'],
      status: 'PENDING',
      requestedAt: '2026-06-01T10:00:00.000Z',
      completedAt: null,
      steps: [
        { store: 'hot-tier', status: 'PENDING', removed: null, detail: null },
        { store: 'warehouse', status: 'PENDING', removed: null, detail: null },
      ],
    });
    expect(suppression.byId).toEqual(
      new Map([
        ['ann', 'del_0000000000000001'],
        ['ann-phone', 'del_0000000000000001'],
        ['ann-laptop', 'del_0000000000000001'],
      ]),
    );
    expect(wakes).toBe(1);
    expect(await api.run(REQUEST, { id: 'del_0000000000000001' })).toEqual({
      data: {
        deletionRequest: {
          id: 'del_0000000000000001',
          status: 'PENDING',
          subjectIds: ['ann', 'ann-phone', 'ann-laptop'],
        },
      },
    });
    expect(await api.run(REQUEST, { id: 'del_0000000000000099' })).toEqual({
      data: { deletionRequest: null },
    });
  });

  it('deletes an id the hot tier never saw by itself, and suppresses only when asked', async () => {
    await start();
    const answer = await api.run(DELETE, { id: 'only-in-the-lake', suppress: false });
    expect((answer.data?.deleteUser as { subjectIds: string[] }).subjectIds).toEqual(['only-in-the-lake']);
    expect(suppression.byId.size).toBe(0);
    expect((await requests.get('del_0000000000000001'))?.suppress).toBe(false);
    // suppress defaults to true.
    await api.run(DELETE_DEFAULT, { id: 'another' });
    expect([...suppression.byId.keys()]).toEqual(['another']);
  });

  it('answers the unfinished request that already covers the person instead of a second one', async () => {
    await start();
    people.set('bo', person('bo', 'bo-phone'));
    const first = await api.run(DELETE, { id: 'bo', suppress: false });
    const again = await api.run(DELETE, { id: 'bo', suppress: false });
    expect(again.data).toEqual(first.data);
    // Asking for suppression the first request did not do is a new request.
    const suppressing = await api.run(DELETE_DEFAULT, { id: 'bo' });
    expect((suppressing.data?.deleteUser as { id: string }).id).toBe('del_0000000000000002');
    // Either covers a request without suppression: the oldest is answered.
    expect((await api.run(DELETE, { id: 'bo', suppress: false })).data?.deleteUser).toMatchObject({
      id: 'del_0000000000000001',
    });
    expect((await api.run(DELETE_DEFAULT, { id: 'bo-phone' })).data?.deleteUser).toMatchObject({
      id: 'del_0000000000000002',
    });
    expect(requests.requests.size).toBe(2);
  });

  it('lifts the suppression of every id suppressed with the one given, and of no other', async () => {
    await start();
    people.set('cy', person('cy', 'cy-phone', 'cy-tablet'));
    await api.run(DELETE_DEFAULT, { id: 'cy' });
    // A later request suppresses the tablet again, for someone else's deletion.
    await suppression.suppress(['cy-tablet'], 'del_later');
    await suppression.suppress(['dee'], 'del_other');

    const lifted = await api.run(UNSUPPRESS, { id: 'cy-phone' });
    expect(lifted).toEqual({ data: { unsuppressUser: ['cy-phone', 'cy'] } });
    expect(suppression.byId).toEqual(
      new Map([
        ['cy-tablet', 'del_later'],
        ['dee', 'del_other'],
      ]),
    );
    expect(await api.run(UNSUPPRESS, { id: 'cy' })).toEqual({ data: { unsuppressUser: [] } });
    // A suppression whose request is gone lifts the id alone.
    expect(await api.run(UNSUPPRESS, { id: 'dee' })).toEqual({ data: { unsuppressUser: ['dee'] } });
  });

  it('bounds ids by the envelope’s rules and request ids by their form', async () => {
    await start();
    expect(codeOf(await api.run(DELETE, { id: '' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await api.run(DELETE, { id: 'x'.repeat(257) }))).toBe('BAD_USER_INPUT');
    // 256 characters, an emoji counting as one, is the longest id.
    expect(codeOf(await api.run(DELETE, { id: `${'x'.repeat(255)}😀` }))).toBeUndefined();
    expect(codeOf(await api.run(UNSUPPRESS, { id: 'x'.repeat(257) }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await api.run(REQUEST, { id: 'key_abc' }))).toBe('BAD_USER_INPUT');
    // A placeholder id names no one: erasing it would erase every visitor a broken client sent it for.
    for (const junk of ['anonymous', ' NULL ', 'undefined']) {
      expect(codeOf(await api.run(DELETE, { id: junk }))).toBe('BAD_USER_INPUT');
    }
    expect(requests.requests.size).toBe(1);
  });

  it('refuses a person whose ids would not fit one request', async () => {
    await start();
    const many = Array.from({ length: Math.ceil(MAX_SUBJECT_BYTES / 256) + 1 }, (_, i) =>
      `${i}`.padStart(256, 'a'),
    );
    people.set('huge', person('huge', ...many));
    const answer = await api.run(DELETE_DEFAULT, { id: 'huge' });
    expect(codeOf(answer)).toBe('DELETION_TOO_LARGE');
    expect(suppression.byId.size).toBe(0);
    expect(requests.requests.size).toBe(0);
  });

  it('refuses new requests while the unfinished ones are at the bound', async () => {
    await start({ maxUnfinished: 2 });
    await api.run(DELETE_DEFAULT, { id: 'p1' });
    await api.run(DELETE_DEFAULT, { id: 'p2' });
    const refused = await api.run(DELETE_DEFAULT, { id: 'p3' });
    expect(codeOf(refused)).toBe('DELETION_BACKLOG_FULL');
    expect(suppression.byId.has('p3')).toBe(false);
    // A retry of an unfinished one is still answered.
    expect(codeOf(await api.run(DELETE_DEFAULT, { id: 'p1' }))).toBeUndefined();
    const finished = await requests.get('del_0000000000000001');
    if (finished === null) throw new Error('missing request');
    await requests.save({ ...finished, status: 'COMPLETED' });
    expect(codeOf(await api.run(DELETE_DEFAULT, { id: 'p3' }))).toBeUndefined();
  });

  it('refuses deletions where no runner is wired, and reads and lifts all the same', async () => {
    await start({ runner: null });
    expect(codeOf(await api.run(DELETE_DEFAULT, { id: 'p1' }))).toBe('DELETIONS_UNAVAILABLE');
    expect(requests.requests.size).toBe(0);
    expect(suppression.byId.size).toBe(0);
    expect((await api.run(REQUEST, { id: 'del_0000000000000001' })).data).toEqual({ deletionRequest: null });
    expect((await api.run(UNSUPPRESS, { id: 'p1' })).data).toEqual({ unsuppressUser: [] });
  });

  it('answers FORBIDDEN without ADMIN, and does nothing', async () => {
    await start();
    for (const [query, variables] of [
      [DELETE_DEFAULT, { id: 'p1' }],
      [REQUEST, { id: 'del_0000000000000001' }],
      [UNSUPPRESS, { id: 'p1' }],
    ] as const) {
      expect(codeOf(await api.run(query, variables, HOT_READER))).toBe('FORBIDDEN');
    }
    expect(requests.requests.size).toBe(0);
    expect(wakes).toBe(0);
  });
});
