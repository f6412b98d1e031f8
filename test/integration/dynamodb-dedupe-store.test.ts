import { ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { DynamoDbDedupeStore } from '../../src/sinks/hot-tier/dynamodb/dynamodb-dedupe-store';
import { startTestEmulators, type TestEmulators } from '../helpers/emulators';

jest.setTimeout(30_000);

describe('DynamoDbDedupeStore (dynalite)', () => {
  let emulators: TestEmulators;
  let clock = Date.parse('2026-05-04T12:00:00Z');
  let store: DynamoDbDedupeStore;

  beforeAll(async () => {
    emulators = await startTestEmulators('tributary-dedupe-');
    await ensureHotTable(emulators.dynamodb, 'hot');
    store = new DynamoDbDedupeStore({
      client: emulators.dynamodb,
      tableName: 'hot',
      ttlSeconds: 60,
      now: () => clock,
    });
  });

  afterAll(async () => {
    await emulators?.stop();
  });

  it('claims a messageId once within the window, also when the same id arrives twice at once', async () => {
    expect(await store.claim(['a', 'b'])).toEqual([true, true]);
    expect(await store.claim(['a', 'c'])).toEqual([false, true]);
    const racing = await store.claim(['d', 'd']);
    expect(racing.filter(Boolean)).toHaveLength(1);
  });

  it('forgets a messageId after its TTL even before DynamoDB deletes the item', async () => {
    clock += 61_000;
    expect(await store.claim(['a'])).toEqual([true]);
    expect(await store.claim(['a'])).toEqual([false]);
  });

  it('gives released claims back', async () => {
    const ids = Array.from({ length: 30 }, (_, i) => `r-${i}`);
    expect((await store.claim(ids)).every(Boolean)).toBe(true);
    await store.release(ids);
    expect((await store.claim(ids)).every(Boolean)).toBe(true);
  });
});
