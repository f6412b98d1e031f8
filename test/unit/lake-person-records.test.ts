import { PersonIds, lineNamesPerson } from '../../src/sinks/lake/person-records';

const ids = new PersonIds(['u-ada', 'anon-ada', 'André', '', '   ']);
const line = (record: unknown): string => JSON.stringify(record);
const failedLine = (payload: string, payloadEncoding = 'utf8'): string =>
  line({ failureType: 'malformed', payload, payloadEncoding, errors: [] });

describe('PersonIds', () => {
  it('leaves out ids that are empty or blank, which would match any text', () => {
    expect(ids.list()).toEqual(['u-ada', 'anon-ada', 'André']);
    expect(new PersonIds(['', ' ']).size).toBe(0);
  });

  it('compares field values exactly, numbers as their text', () => {
    expect(ids.holds('u-ada')).toBe(true);
    expect(ids.holds('U-ADA')).toBe(false);
    expect(ids.holds(' u-ada')).toBe(false);
    expect(new PersonIds(['42']).holds(42)).toBe(true);
    expect(ids.holds(null)).toBe(false);
    expect(ids.holds({ id: 'u-ada' })).toBe(false);
  });

  it('finds an id in bytes as UTF-8, and as Latin-1 where it can be written so', () => {
    expect(ids.occursIn(Buffer.from('x André x', 'utf8'))).toBe(true);
    expect(ids.occursIn(Buffer.from('x André x', 'latin1'))).toBe(true);
    expect(ids.occursIn(Buffer.from('x Andre x', 'utf8'))).toBe(false);
  });
});

describe('lineNamesPerson', () => {
  it('matches an event by userId, anonymousId, or an alias previous_id', () => {
    expect(lineNamesPerson('events', line({ event: 'page_viewed', userId: 'u-ada' }), ids)).toBe(true);
    expect(lineNamesPerson('events', line({ event: 'page_viewed', anonymousId: 'anon-ada' }), ids)).toBe(
      true,
    );
    const alias = { event: 'alias', userId: 'u-bob', properties: { previous_id: 'anon-ada' } };
    expect(lineNamesPerson('events', line(alias), ids)).toBe(true);
    expect(lineNamesPerson('events', line({ ...alias, event: 'page_viewed' }), ids)).toBe(false);
    expect(lineNamesPerson('events', line({ event: 'search', properties: { q: 'u-ada' } }), ids)).toBe(false);
  });

  it('matches a failed event by the fields of its payload, previous_id whatever the event', () => {
    expect(lineNamesPerson('failed', failedLine(line({ userId: 'u-ada' })), ids)).toBe(true);
    expect(
      lineNamesPerson('failed', failedLine(line({ event: 'x', properties: { previous_id: 'André' } })), ids),
    ).toBe(true);
    expect(
      lineNamesPerson('failed', failedLine(line({ userId: 'u-bob', properties: { q: 'u-ada' } })), ids),
    ).toBe(false);
  });

  it('matches a payload that is not a JSON object by the text of it', () => {
    expect(lineNamesPerson('failed', failedLine('{"userId":"u-ada","cut'), ids)).toBe(true);
    expect(lineNamesPerson('failed', failedLine('["u-ada"]'), ids)).toBe(true);
    expect(lineNamesPerson('failed', failedLine('{"userId":"u-bob","cut'), ids)).toBe(false);
    const latin1 = Buffer.from('\xff André', 'latin1').toString('base64');
    expect(lineNamesPerson('failed', failedLine(latin1, 'base64'), ids)).toBe(true);
    expect(
      lineNamesPerson(
        'failed',
        failedLine(Buffer.from('\xff u-bob', 'latin1').toString('base64'), 'base64'),
        ids,
      ),
    ).toBe(false);
  });

  it('matches a line that is not a JSON object, in either folder, by its text', () => {
    expect(lineNamesPerson('events', 'not json u-ada', ids)).toBe(true);
    expect(lineNamesPerson('failed', '"u-ada"', ids)).toBe(true);
    expect(lineNamesPerson('events', 'not json u-bob', ids)).toBe(false);
  });
});
