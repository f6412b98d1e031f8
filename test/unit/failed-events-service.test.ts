import { ExecuteStatementCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { PAYLOAD_TRUNCATED } from '../../src/events/failed-payload';
import { FailedEventsService } from '../../src/services/failed-events-service';
import { RedshiftDataApi } from '../../src/sinks/warehouse/redshift/redshift-data-api';
import { RedshiftWarehouse } from '../../src/sinks/warehouse/redshift/redshift-warehouse';
import type { EventStreamProducer } from '../../src/stream/port';
import { FakeRedshiftLake } from '../helpers/fake-redshift';

const fake = new FakeRedshiftLake();
afterAll(() => fake.restore());
beforeEach(() => fake.reset());

const RANGE = { from: new Date('2024-05-01T00:00:00Z'), to: new Date('2024-05-02T00:00:00Z') };

/** Replays must not reach the stream in these tests: every record is refused or skipped first. */
const noStream: EventStreamProducer = {
  putRecords: () => Promise.reject(new Error('nothing should be put on the stream')),
};

function service(): FailedEventsService {
  const api = new RedshiftDataApi({
    client: new RedshiftDataClient({ region: 'eu-west-1' }),
    workgroupName: 'analytics',
    database: 'tributary',
    sleep: async () => undefined,
  });
  return new FailedEventsService(new RedshiftWarehouse({ api }), noStream);
}

const statements = () => fake.redshift.commandCalls(ExecuteStatementCommand);

describe('FailedEventsService on Redshift', () => {
  it('refuses an empty event filter as bad input, listing or replaying, before asking the warehouse', async () => {
    const refused = { extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringContaining('event') };
    await expect(service().list({ ...RANGE, event: '', limit: 10 })).rejects.toMatchObject(refused);
    await expect(service().replay({ ...RANGE, event: '' })).rejects.toMatchObject(refused);
    expect(statements()).toHaveLength(0);
  });

  it('binds a given event filter, and none when it is left out', async () => {
    fake.rowsFor = () => [];
    await service().list({ ...RANGE, event: 'page_viewed', limit: 10 });
    await service().list({ ...RANGE, limit: 10 });
    expect(statements().map((call) => call.args[0].input.Parameters?.map((p) => p.name))).toEqual([
      ['from', 'to', 'event'],
      ['from', 'to'],
    ]);
  });

  it('never replays a payload that is only the start of its record, even when that start parses', async () => {
    fake.rowsFor = (sql) =>
      /FROM failed_events/.test(sql)
        ? [
            {
              message_id: { stringValue: 'm1' },
              failure_type: { stringValue: 'size_exceeded' },
              event: { isNull: true },
              errors: {
                stringValue: JSON.stringify([{ code: PAYLOAD_TRUNCATED, path: null, message: 'cut' }]),
              },
              payload: { stringValue: '{"event":"page_viewed","userId":"u1"}' },
              payload_encoding: { stringValue: 'utf8' },
              schema: { isNull: true },
              received_ms: { longValue: Date.parse('2024-05-01T10:00:00Z') },
              processor_version: { stringValue: 'test' },
            },
          ]
        : undefined;
    await expect(service().replay(RANGE)).resolves.toEqual({
      replayed: 0,
      skipped: 1,
      notWritten: 0,
      truncated: false,
    });
  });

  it('never replays what the hot tier did not apply: those events were delivered already', async () => {
    const row = (messageId: string, failureType: string) => ({
      message_id: { stringValue: messageId },
      failure_type: { stringValue: failureType },
      event: { stringValue: 'identify' },
      errors: { stringValue: JSON.stringify([{ code: 'TRAIT_DROPPED', path: null, message: 'trait "a"' }]) },
      payload: { stringValue: JSON.stringify({ messageId, event: 'identify', userId: 'u1' }) },
      payload_encoding: { stringValue: 'utf8' },
      schema: { stringValue: 'identify/1-0-0' },
      received_ms: { longValue: Date.parse('2024-05-01T10:00:00Z') },
      processor_version: { stringValue: 'test' },
    });
    fake.rowsFor = (sql) =>
      /FROM failed_events/.test(sql)
        ? [row('m1', 'profile_limit'), row('m2', 'hot_tier_refused')]
        : undefined;
    await expect(service().replay(RANGE)).resolves.toEqual({
      replayed: 0,
      skipped: 2,
      notWritten: 0,
      truncated: false,
    });
  });
});
