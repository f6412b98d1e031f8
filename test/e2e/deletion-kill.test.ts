import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gql } from '../helpers/graphql-client';
import { readLakeEvents } from '../helpers/lake-events';
import { startMainProcess, type MainProcess } from '../helpers/main-process';
import { faultSeed, seededRandom } from '../helpers/seeded-random';

jest.setTimeout(150_000);

const API_KEY = 'deletion-kill-key-1';
const PERSON = 'kelly-3f9a';
const OTHER = 'omar-8c21';
const ROUNDS = 30;
// Small lake files, so the deletion has many files to rewrite and a kill lands inside it.
const ENV = { TRIBUTARY_LAKE_FLUSH_INTERVAL_MS: '10', TRIBUTARY_LOADER_INTERVAL_MS: '100' };

const TRACK = `mutation($events: [TrackEventInput!]!) { trackEvents(events: $events) { accepted } }`;
const USER = `query($id: ID!) { user(id: $id) { eventCount } }`;
const DELETE = `mutation($id: ID!) { deleteUser(id: $id) { id } }`;
const REQUEST = `query($id: ID!) { deletionRequest(id: $id) { status steps { store status } } }`;

type UserAnswer = { user: { eventCount: number } | null };

describe('a deletion killed with SIGKILL', () => {
  let dataDir: string;
  let running: MainProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tributary-deletion-kill-'));
  });

  afterAll(async () => {
    if (running?.child.exitCode === null) running.child.kill('SIGKILL');
    await running?.exited;
    await rm(dataDir, { recursive: true, force: true });
  });

  it('resumes after a restart, completes, and leaves no file half rewritten', async () => {
    const random = seededRandom(faultSeed());
    running = startMainProcess(dataDir, API_KEY, ENV);
    let url = await running.url;
    for (let round = 0; round < ROUNDS; round++) {
      const events = [PERSON, OTHER].flatMap((userId) =>
        Array.from({ length: 20 }, (_, i) => ({
          event: 'product_viewed',
          userId,
          properties: { product_id: `sku-${(round + i) % 9}` },
        })),
      );
      expect(
        (await gql<{ trackEvents: { accepted: number } }>(url, TRACK, { events }, API_KEY)).data,
      ).toEqual({
        trackEvents: { accepted: events.length },
      });
      await sleep(15);
    }
    // Processed once both users' counts are whole (each user's events share a shard, in order).
    for (const userId of [PERSON, OTHER]) {
      for (let attempt = 0; attempt < 600; attempt++) {
        const count = (await gql<UserAnswer>(url, USER, { id: userId }, API_KEY)).data?.user?.eventCount;
        if (count === ROUNDS * 20) break;
        await sleep(100);
      }
    }
    // Ctrl-C writes out every buffer and loads the warehouse; then the lake holds everything.
    running.child.kill('SIGINT');
    expect(await running.exited).toBe(0);
    const othersBefore = (await readLakeEvents(dataDir))
      .filter((e) => e.userId === OTHER)
      .map((e) => e.messageId);
    expect(othersBefore).toHaveLength(ROUNDS * 20);

    running = startMainProcess(dataDir, API_KEY, ENV);
    url = await running.url;
    const asked = await gql<{ deleteUser: { id: string } }>(url, DELETE, { id: PERSON }, API_KEY);
    const requestId = asked.data?.deleteUser.id;
    expect(requestId).toMatch(/^del_/);
    // Killed at once or a little later: inside one of its steps, or between two.
    await sleep(random() * 400);
    running.child.kill('SIGKILL');
    expect(await running.exited).toBeNull();

    running = startMainProcess(dataDir, API_KEY, ENV);
    url = await running.url;
    let status = '';
    for (let attempt = 0; attempt < 600 && status !== 'COMPLETED'; attempt++) {
      const request = await gql<{ deletionRequest: { status: string } }>(
        url,
        REQUEST,
        { id: requestId },
        API_KEY,
      );
      status = request.data?.deletionRequest.status ?? '';
      if (status !== 'COMPLETED') await sleep(100);
    }
    expect(status).toBe('COMPLETED');
    expect((await gql<UserAnswer>(url, USER, { id: PERSON }, API_KEY)).data).toEqual({ user: null });
    running.child.kill('SIGINT');
    expect(await running.exited).toBe(0);

    const lake = await readLakeEvents(dataDir);
    expect(lake.filter((e) => e.userId === PERSON)).toEqual([]);
    expect(
      lake
        .filter((e) => e.userId === OTHER)
        .map((e) => e.messageId)
        .sort(),
    ).toEqual([...othersBefore].sort());
    const leftovers = (await readdir(path.join(dataDir, 'lake'), { recursive: true })).filter((file) =>
      path.basename(file).startsWith('.'),
    );
    expect(leftovers).toEqual([]);
  });
});
