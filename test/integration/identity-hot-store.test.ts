import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createDynamoDbDocumentClient } from '../../src/aws/clients';
import { DEFAULT_IDENTITY_RULES } from '../../src/events/identity';
import type { HotTierFailure } from '../../src/realtime/failures';
import { ProfileService } from '../../src/services/profile-service';
import { DynamoDbHotStore, ensureHotTable } from '../../src/sinks/hot-tier/dynamodb/dynamodb-hot-store';
import { HotStoreError } from '../../src/sinks/hot-tier/errors';
import type { HotActivity } from '../../src/sinks/hot-tier/port';
import { crashAfter, deliverInterleaved, generateIdentityHistory } from '../helpers/identity-history';
import { expectProfilesMatchOracle } from '../helpers/identity-oracle';
import { faultSeed, seededRandom } from '../helpers/seeded-random';

jest.setTimeout(180_000);

describe('identity on DynamoDbHotStore (dynalite)', () => {
  let server: Server;
  let dataDir: string;
  let doc: DynamoDBDocumentClient;
  let tables = 0;
  const seed = faultSeed(20261203);

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'identity-hot-'));
    server = dynalite({ path: dataDir, createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    doc = createDynamoDbDocumentClient({ aws: { region: 'us-east-1', dynamodbEndpoint: endpoint } });
  });

  afterAll(async () => {
    doc.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A fresh table, and a client whose writes go through `beforeWrite` (a crash hook). */
  async function freshStore(beforeWrite: () => void = () => undefined) {
    const tableName = `hot-${++tables}`;
    await ensureHotTable(doc, tableName);
    const faulty = new Proxy(doc, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return (command: unknown) => {
          if (command instanceof PutCommand) beforeWrite();
          return target.send(command as PutCommand);
        };
      },
    });
    return new DynamoDbHotStore({ client: faulty, tableName, throttleBaseDelayMs: 1 });
  }

  async function expectOracle(store: DynamoDbHotStore, history: ReturnType<typeof generateIdentityHistory>) {
    const { oracle, linkedPeople } = await expectProfilesMatchOracle(
      new ProfileService(store),
      history,
      DEFAULT_IDENTITY_RULES.junkIds,
    );
    expect(linkedPeople).toBeGreaterThan(40);
    return oracle;
  }

  it('matches the oracle with batches interleaved across shards, redelivered, and crashing between writes', async () => {
    const history = generateIdentityHistory(seed, 60);
    let beforeWrite: () => void = () => undefined;
    const store = await freshStore(() => beforeWrite());
    const failures: HotTierFailure[] = [];
    const stats = await deliverInterleaved(history, seed + 1, async (batch, crashAt) => {
      beforeWrite = crashAfter(crashAt);
      try {
        await store.applyActivity(batch, async (reported) => {
          failures.push(...reported);
        });
      } finally {
        beforeWrite = () => undefined;
      }
    });
    expect(stats.crashes).toBeGreaterThan(0);
    const oracle = await expectOracle(store, history);
    const conflicts = new Set(
      failures.filter((f) => f.failureType === 'identity_conflict').map((f) => f.messageId),
    );
    expect(conflicts).toEqual(oracle.losingClaims);
  });

  it('matches the oracle with both shards consumed at once, racing on the same identity items', async () => {
    const history = generateIdentityHistory(seed + 2, 60);
    const store = await freshStore();
    const random = seededRandom(seed + 3);
    // A batch that loses every attempt at a key fails as a conflict and is handed over again, as
    // the event source mapping would.
    let conflicts = 0;
    const consume = async (records: HotActivity[]) => {
      for (let start = 0; start < records.length;) {
        const size = 1 + Math.floor(random() * 25);
        try {
          await store.applyActivity(records.slice(start, start + size));
        } catch (error) {
          if (!(error instanceof HotStoreError && error.code === 'HOT_STORE_CONFLICT') || ++conflicts > 20) {
            throw error;
          }
          continue;
        }
        start += size;
      }
    };
    await Promise.all([...history.shards.values()].map(consume));
    await expectOracle(store, history);
  });

  it('unlinks an id through the same conditional write, and forgets nothing else', async () => {
    const store = await freshStore();
    const at = (minute: number) => new Date(Date.UTC(2026, 5, 1, 9, minute)).toISOString();
    const base = {
      event: 'page_viewed',
      itemIds: [],
      traits: null,
      isBot: false,
      previousId: null,
      mergesUsers: false,
    };
    await store.applyActivity([
      {
        ...base,
        profileId: 'dev',
        messageId: 'a',
        timestamp: at(1),
        receivedAt: at(1),
        shardId: 's-a',
        sequenceNumber: '1',
        userId: null,
        anonymousId: 'dev',
      },
      {
        ...base,
        profileId: 'u',
        messageId: 'b',
        timestamp: at(2),
        receivedAt: at(2),
        shardId: 's-b',
        sequenceNumber: '1',
        userId: 'u',
        anonymousId: 'dev',
      },
    ]);
    const profiles = new ProfileService(store);
    expect((await profiles.user('dev'))?.eventCount).toBe(2);
    expect(await store.unlink('nobody', at(3))).toBe(false);
    expect((await profiles.unlink('dev')).personId).toBe('dev');
    expect((await profiles.user('u'))?.eventCount).toBe(1);
    expect((await profiles.user('dev'))?.eventCount).toBe(1);
  });

  it('erases every trace of a person’s ids, claims in other people’s identities included, and nothing else', async () => {
    const store = await freshStore();
    const at = (minute: number) => new Date(Date.UTC(2026, 5, 1, 9, minute)).toISOString();
    const base = {
      event: 'page_viewed',
      itemIds: ['sku-1'],
      traits: null,
      isBot: false,
      previousId: null,
      mergesUsers: false,
    };
    const event = (n: number, userId: string | null, anonymousId: string | null) => ({
      ...base,
      profileId: userId ?? anonymousId ?? '',
      messageId: `e-${n}`,
      timestamp: at(n),
      receivedAt: at(n),
      shardId: 's-a',
      sequenceNumber: String(n),
      userId,
      anonymousId,
    });
    await store.applyActivity([
      event(1, null, 'erin-phone'),
      event(2, 'erin', 'erin-phone'),
      event(3, null, 'shared-tablet'),
      event(4, 'frank', 'shared-tablet'),
      // Erin signs in on Frank's tablet too: her losing claim sits in her own identity, Frank's
      // winning claim in the tablet's; and Frank signs in on Erin's phone, a claim in Frank's.
      event(5, 'erin', 'shared-tablet'),
      event(6, 'frank', 'erin-phone'),
    ]);
    const profiles = new ProfileService(store);
    const frankBefore = await profiles.user('frank');
    const scan = async () =>
      (await doc.send(new ScanCommand({ TableName: `hot-${tables}` }))).Items?.filter((item) =>
        String(item.pk).startsWith('USER#'),
      ) ?? [];
    expect(JSON.stringify(await scan())).toContain('erin');

    const removed = await store.eraseIds(['erin', 'erin-phone']);
    expect(removed).toBeGreaterThanOrEqual(5);
    expect(JSON.stringify(await scan())).not.toContain('erin');
    expect(await profiles.user('erin')).toBeNull();
    expect(await profiles.user('erin-phone')).toBeNull();
    const frankAfter = await profiles.user('frank');
    expect(frankAfter).toEqual(frankBefore);
    expect(await store.eraseIds(['erin', 'erin-phone'])).toBe(0);
  });
});
