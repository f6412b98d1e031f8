import 'reflect-metadata';
import { graphql } from 'graphql';
import { buildSchemaSync } from 'type-graphql';
import type { Principal } from '../../src/access/principal';
import type { Scope } from '../../src/access/scopes';
import { authChecker } from '../../src/api/auth-checker';
import { SegmentApi, type SegmentHttpRequest } from '../../src/api/segment/segment-api';
import type { EventEnvelope } from '../../src/events/types';
import { AnalyticsResolver } from '../../src/resolvers/analytics.resolver';
import { IngestResolver } from '../../src/resolvers/ingest.resolver';
import type { AccessService } from '../../src/services/access-service';
import { IngestService, type EdgeRequest } from '../../src/services/ingest-service';
import type { EventStreamProducer, StreamPutRecord } from '../../src/stream/port';

/** The records the front doors put on the stream, as their bodies. */
class RecordingProducer implements EventStreamProducer {
  readonly bodies: Array<Record<string, unknown>> = [];

  putRecords(records: StreamPutRecord[]) {
    this.bodies.push(
      ...records.map((r) => JSON.parse(Buffer.from(r.data).toString()) as Record<string, unknown>),
    );
    return Promise.resolve(
      records.map((_, i) => ({ ok: true as const, shardId: 'shardId-0', sequenceNumber: String(i) })),
    );
  }
}

/** An ingest service that also keeps the edge each call was given. */
function ingest(): { service: IngestService; producer: RecordingProducer; edges: EdgeRequest[] } {
  const producer = new RecordingProducer();
  const service = new IngestService({ producer });
  const edges: EdgeRequest[] = [];
  const track = service.track.bind(service);
  service.track = (inputs: EventEnvelope[], edge: EdgeRequest) => {
    edges.push(edge);
    return track(inputs, edge);
  };
  return { service, producer, edges };
}

const principal = (...scopes: Scope[]): Principal => ({
  keyId: 'key',
  kind: 'SECRET',
  scopes: new Set(scopes),
});

describe('the merges-users flag at the front doors', () => {
  describe('GraphQL trackEvent', () => {
    const schema = buildSchemaSync({
      // A schema needs a query: the analytics ones stand in.
      resolvers: [IngestResolver, AnalyticsResolver],
      validate: false,
      authChecker,
      authMode: 'error',
    });
    const ALIAS = `mutation { trackEvent(event: { event: "alias", userId: "u1", properties: { previous_id: "u0" } }) { status } }`;

    async function send(source: string, caller: Principal) {
      const { service, producer, edges } = ingest();
      const result = await graphql({
        schema,
        source,
        contextValue: { services: { ingest: service }, principal: caller, edge: { receivedAt: new Date() } },
      });
      return { result, bodies: producer.bodies, edges };
    }

    it('sets it for a key holding ADMIN only', async () => {
      const admin = await send(ALIAS, principal('INGEST', 'ADMIN'));
      expect(admin.result.errors).toBeUndefined();
      expect(admin.edges.map((e) => e.mayMergeUsers)).toEqual([true]);
      expect(admin.bodies.map((b) => b.mergesUsers)).toEqual([true]);

      const writer = await send(ALIAS, principal('INGEST', 'ANALYTICS_READ', 'HOT_READ'));
      expect(writer.edges.map((e) => e.mayMergeUsers)).toEqual([false]);
      expect(writer.bodies.map((b) => b.mergesUsers)).toEqual([undefined]);
    });

    it('has no input field a client could set it with', async () => {
      const forged = await send(
        `mutation { trackEvent(event: { event: "alias", userId: "u1", mergesUsers: true }) { status } }`,
        principal('INGEST'),
      );
      expect(forged.result.errors?.[0]?.message).toMatch(/mergesUsers/);
      expect(forged.bodies).toEqual([]);
    });
  });

  describe('Segment alias', () => {
    const keys: Record<string, Principal> = {
      'write-key': { ...principal('INGEST'), kind: 'WRITE' },
      'admin-key': principal('INGEST', 'ADMIN'),
    };
    const access = {
      authenticate: ({ apiKey }: { apiKey?: string }) => Promise.resolve(keys[apiKey ?? ''] as Principal),
    } as unknown as AccessService;

    async function alias(key: string): Promise<Array<Record<string, unknown>>> {
      const { service, producer } = ingest();
      const api = new SegmentApi({ access, ingest: service, names: {} });
      const request: SegmentHttpRequest = {
        method: 'POST',
        path: '/v1/alias',
        query: new URLSearchParams(),
        headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` },
        // `mergesUsers` in the message is not a Segment field, and is never read.
        body: Buffer.from(JSON.stringify({ userId: 'u1', previousId: 'u0', mergesUsers: true })),
        publicBase: { protocol: 'http', host: 'localhost' },
      };
      expect((await api.handle(request)).status).toBe(200);
      return producer.bodies;
    }

    it('sets it for a key holding ADMIN only, whatever the message says', async () => {
      expect((await alias('admin-key')).map((b) => [b.event, b.mergesUsers])).toEqual([['alias', true]]);
      expect((await alias('write-key')).map((b) => [b.event, b.mergesUsers])).toEqual([['alias', undefined]]);
    });
  });
});
