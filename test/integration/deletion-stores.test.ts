import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { newDeletionRequest, recordFailure, recordSuccess, startStep } from '../../src/privacy/deletion-plan';
import {
  DynamoDbDeletionRequestStore,
  unfinishedDeletionKey,
} from '../../src/privacy/dynamodb/dynamodb-deletion-request-store';
import { DynamoDbSuppressionList } from '../../src/privacy/dynamodb/dynamodb-suppression-list';
import type { PrivacyStoreError } from '../../src/privacy/errors';
import type { DeletionRequest } from '../../src/privacy/port';
import { DynamoDbHotStore, ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';

jest.setTimeout(60_000);

const STORES = ['hot-tier', 'lake-events', 'warehouse'];
const at = (second: number) => new Date(Date.UTC(2026, 5, 1, 9, 0, second)).toISOString();

const request = (id: string, second: number, subjectIds = ['u1', 'anon-1']): DeletionRequest =>
  newDeletionRequest({ id, subjectIds, suppress: true, requestedAt: at(second), stores: STORES });

/** A client whose first `failures` sends throw `name` (DynamoDB's throttling, say), then pass through. */
function failing(client: DynamoDBDocumentClient, name: string, failures: number): DynamoDBDocumentClient {
  let left = failures;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: Parameters<DynamoDBDocumentClient['send']>[0]) => {
        if (left > 0) {
          left -= 1;
          return Promise.reject(Object.assign(new Error(`injected ${name}`), { name }));
        }
        return target.send(command);
      };
    },
  });
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    return (error as PrivacyStoreError).code;
  }
}

describe('privacy stores on dynalite', () => {
  let emulators: TestEmulators;
  let tables = 0;

  beforeAll(async () => {
    emulators = await startTestEmulators('tributary-privacy-');
  });

  afterAll(async () => {
    await emulators?.stop();
  });

  const freshTable = async () => {
    const tableName = `hot-${++tables}`;
    await ensureHotTable(emulators.dynamodb, tableName);
    return { client: emulators.dynamodb, tableName, throttleBaseDelayMs: 1 };
  };

  const unfinishedEntries = async (tableName: string) =>
    (
      await emulators.dynamodb.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'DELETION' },
        }),
      )
    ).Items?.map((item) => String(item.sk)) ?? [];

  describe('DynamoDbDeletionRequestStore', () => {
    it('keeps a request as it was saved, nulls and all, and leaves an existing one on create', async () => {
      const store = new DynamoDbDeletionRequestStore(await freshTable());
      const created = request('del_a', 1);
      await store.create(created);
      expect(await store.get('del_a')).toEqual(created);
      expect(await store.get('del_none')).toBeNull();

      let next = recordSuccess(
        startStep(created, 'hot-tier'),
        'hot-tier',
        { removed: 4, detail: 'ok' },
        at(2),
      );
      next = recordFailure(startStep(next, 'lake-events'), 'lake-events', 'S3 throttled');
      await store.save(next);
      expect(await store.get('del_a')).toEqual(next);

      await store.create({ ...created, subjectIds: ['someone-else'] });
      expect(await store.get('del_a')).toEqual(next);
    });

    it('lists unfinished requests oldest first, and drops a request from the list once it completes', async () => {
      const table = await freshTable();
      const store = new DynamoDbDeletionRequestStore(table);
      // Created out of order; more than one BatchGet's 100 keys.
      const seconds = Array.from({ length: 110 }, (_, i) => (i * 37) % 110);
      for (const second of seconds)
        await store.create(request(`del_${String(second).padStart(3, '0')}`, second));
      const listed = await store.unfinished();
      expect(listed.map((r) => r.requestedAt)).toEqual([...seconds].sort((a, b) => a - b).map(at));

      let done = request('del_000', 0);
      for (const step of STORES) done = recordSuccess(done, step, { removed: 1 }, at(200));
      expect(done.status).toBe('COMPLETED');
      await store.save(done);
      const after = await store.unfinished();
      expect(after).toHaveLength(109);
      expect(after.map((r) => r.id)).not.toContain('del_000');
      expect(await unfinishedEntries(table.tableName)).not.toContain(unfinishedDeletionKey(done).sk);
      expect((await store.get('del_000'))?.status).toBe('COMPLETED');
    });

    it('cleans up an entry left by a crash after completing, and skips one whose request is not stored yet', async () => {
      const table = await freshTable();
      const store = new DynamoDbDeletionRequestStore(table);
      let done = request('del_done', 1);
      await store.create(done);
      for (const step of STORES) done = recordSuccess(done, step, { removed: 0 }, at(9));
      await store.save(done);
      // As if the process died between saving the request and removing its entry.
      const put = (sk: string, id: string) =>
        emulators.dynamodb.send(
          new PutCommand({ TableName: table.tableName, Item: { pk: 'DELETION', sk, id } }),
        );
      await put(unfinishedDeletionKey(done).sk, 'del_done');
      // As if a create were between writing its entry and its request.
      await put(`${at(2)}#del_creating`, 'del_creating');
      await store.create(request('del_open', 3));

      expect((await store.unfinished()).map((r) => r.id)).toEqual(['del_open']);
      expect(await unfinishedEntries(table.tableName)).toEqual([
        `${at(2)}#del_creating`,
        `${at(3)}#del_open`,
      ]);
    });

    it('retries DynamoDB throttling, and names the failure when it persists', async () => {
      const table = await freshTable();
      const throttled = (failures: number) =>
        new DynamoDbDeletionRequestStore({
          ...table,
          client: failing(emulators.dynamodb, 'ProvisionedThroughputExceededException', failures),
        });
      await throttled(2).create(request('del_t', 1));
      expect((await throttled(3).get('del_t'))?.id).toBe('del_t');
      expect(await codeOf(throttled(100).unfinished())).toBe('PRIVACY_STORE_THROTTLED');
      const missing = new DynamoDbDeletionRequestStore({ ...table, tableName: 'no-such-table' });
      await expect(missing.get('del_t')).rejects.toMatchObject({
        name: 'PrivacyStoreError',
        code: 'PRIVACY_STORE_FAILED',
        message: expect.stringContaining('Deletion request store could not read a request'),
      });
    });
  });

  describe('DynamoDbSuppressionList', () => {
    it('suppresses ids under their request, past one BatchWrite, and lifts them', async () => {
      const list = new DynamoDbSuppressionList(await freshTable());
      const ids = Array.from({ length: 60 }, (_, i) => `id-${i}`);
      // A repeated id in one call is suppressed once.
      await list.suppress([...ids, 'id-0'], 'del_a');
      const held = await list.suppressedBy([...ids, 'never-suppressed']);
      expect(held.size).toBe(60);
      expect([...new Set(held.values())]).toEqual(['del_a']);
      expect(await list.suppressed(['id-3', 'never-suppressed'])).toEqual(new Set(['id-3']));

      await list.suppress(['id-3'], 'del_b');
      expect((await list.suppressedBy(['id-3', 'id-4'])).get('id-3')).toBe('del_b');

      await list.unsuppress(ids.slice(0, 30));
      expect((await list.suppressed(ids)).size).toBe(30);
      expect(await list.suppressed(['id-0', 'id-3'])).toEqual(new Set());
      await list.unsuppress([]);
      expect(await list.suppressed([])).toEqual(new Set());
    });

    it('outlives the erasure of the ids from the hot tier', async () => {
      const table = await freshTable();
      const list = new DynamoDbSuppressionList(table);
      await list.suppress(['erased-user'], 'del_a');
      await new DynamoDbHotStore(table).eraseIds(['erased-user']);
      expect(await list.suppressed(['erased-user'])).toEqual(new Set(['erased-user']));
    });

    it('retries DynamoDB throttling, and names the failure when it persists', async () => {
      const table = await freshTable();
      const throttled = (failures: number) =>
        new DynamoDbSuppressionList({
          ...table,
          client: failing(emulators.dynamodb, 'ThrottlingException', failures),
        });
      await throttled(2).suppress(['t-1'], 'del_a');
      expect(await throttled(2).suppressed(['t-1'])).toEqual(new Set(['t-1']));
      expect(await codeOf(throttled(100).suppressedBy(['t-1']))).toBe('PRIVACY_STORE_THROTTLED');
      expect(await codeOf(throttled(100).unsuppress(['t-1']))).toBe('PRIVACY_STORE_THROTTLED');
    });
  });
});
