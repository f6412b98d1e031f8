import { canonicalIsoMs, isEventTimeMs, isoToMs, msToIso } from '../../src/events/iso-time';

// A fixed-seed generator, so a failure names inputs that reproduce.
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const MIN_MS = Date.parse('0000-01-01T00:00:00.000Z');

describe('msToIso and canonicalIsoMs', () => {
  it('agree with Date#toISOString and Date.parse across the four-digit years', () => {
    const next = random(7);
    const times = [0, -1, 1, MIN_MS, MAX_MS, Date.UTC(2024, 1, 29)];
    for (let i = 0; i < 20_000; i++) times.push(Math.floor(next() * (MAX_MS - MIN_MS)) + MIN_MS);
    for (const ms of times) {
      const iso = new Date(ms).toISOString();
      expect(msToIso(ms)).toBe(iso);
      expect(canonicalIsoMs(iso)).toBe(ms);
    }
  });

  it('leaves times outside four-digit years and invalid times to Date', () => {
    expect(msToIso(MAX_MS + 1)).toBe('+010000-01-01T00:00:00.000Z');
    expect(msToIso(-62_198_755_200_000)).toBe(new Date(-62_198_755_200_000).toISOString());
    expect(msToIso(1.5)).toBe(new Date(1.5).toISOString());
    expect(() => msToIso(Number.NaN)).toThrow(RangeError);
    expect(() => msToIso(8.64e15 + 1)).toThrow(RangeError);
  });

  it('accepts only the exact canonical form, with real calendar days', () => {
    for (const text of [
      '2026-05-04T10:00:00Z',
      '2026-05-04T10:00:00.000+00:00',
      '2026-05-04 10:00:00.000Z',
      '2026-05-04T10:00:00.0000Z',
      '2026-5-04T10:00:00.000Z',
      '2026-05-04T10:00:0a.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-00-01T00:00:00.000Z',
      '2026-02-29T00:00:00.000Z',
      '2100-02-29T00:00:00.000Z',
      '2026-04-31T00:00:00.000Z',
      '2026-05-00T00:00:00.000Z',
      '2026-05-04T24:00:00.000Z',
      '2026-05-04T10:60:00.000Z',
      '2026-05-04T10:00:60.000Z',
    ])
      expect([text, canonicalIsoMs(text)]).toEqual([text, Number.NaN]);
    expect(canonicalIsoMs('2024-02-29T23:59:59.999Z')).toBe(Date.parse('2024-02-29T23:59:59.999Z'));
    expect(canonicalIsoMs('2000-02-29T00:00:00.000Z')).toBe(Date.parse('2000-02-29T00:00:00.000Z'));
  });

  it('isoToMs is Date.parse for every form, canonical or not', () => {
    for (const text of [
      '2026-05-04T10:00:00.123Z',
      '2026-05-04T10:00:00Z',
      '2026-05-04T12:00:00.5+02:00',
      '2026-02-30T00:00:00.000Z',
      '2026-05-04T24:00:00.000Z',
      'May 4, 2026',
      'not a date',
      '',
    ])
      expect([text, isoToMs(text)]).toEqual([text, Date.parse(text)]);
  });
});

describe('isEventTimeMs', () => {
  it('takes the years 1000 to 9999 and nothing else', () => {
    expect(isEventTimeMs(Date.parse('1000-01-01T00:00:00.000Z'))).toBe(true);
    expect(isEventTimeMs(MAX_MS)).toBe(true);
    expect(isEventTimeMs(0)).toBe(true);
    expect(isEventTimeMs(Date.parse('0999-12-31T23:59:59.999Z'))).toBe(false);
    expect(isEventTimeMs(MIN_MS)).toBe(false);
    expect(isEventTimeMs(MAX_MS + 1)).toBe(false);
    expect(isEventTimeMs(Number.NaN)).toBe(false);
  });
});
