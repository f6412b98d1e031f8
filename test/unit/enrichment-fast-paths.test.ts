import { isIPv4 } from 'node:net';
import { anonymiseIp } from '../../src/events/enrich/ip';
import { createPseudonymiser, pseudonym, pseudonymise } from '../../src/events/enrich/pii';
import { piiMarksOf } from '../../src/events/pii-marks';

describe('createPseudonymiser', () => {
  it('gives exactly pseudonym() for strings and JSON values, across evictions', () => {
    const hash = createPseudonymiser('k1', 3);
    const values: unknown[] = ['a@example.com', 'b@example.com', 42, { id: 1 }, 'a@example.com', 'c', 42];
    for (const value of values) expect(hash(value)).toBe(pseudonym(value, 'k1'));
    expect(hash('a@example.com')).not.toBe(createPseudonymiser('k2')('a@example.com'));
  });

  it('can stand in for the secret in pseudonymise', () => {
    const properties = { email: 'ada@example.com', people: [{ name: 'Grace' }] };
    const marks = piiMarksOf(
      {
        type: 'object',
        properties: {
          email: { 'x-pii': true },
          people: { items: { properties: { name: { 'x-pii': true } } } },
        },
      },
      'signup',
      'signup/1-0-0',
    );
    if (marks === null) throw new Error('the schema marks fields');
    expect(pseudonymise(properties, marks, createPseudonymiser('k1'))).toEqual(
      pseudonymise(properties, marks, 'k1'),
    );
  });
});

describe('anonymiseIp on IPv4', () => {
  // The scan must accept exactly what net.isIPv4 accepts; everything else goes on to the IPv6 rules.
  it('agrees with net.isIPv4 on near-miss dotted addresses', () => {
    const parts = [
      '0',
      '9',
      '00',
      '01',
      '10',
      '99',
      '100',
      '199',
      '249',
      '250',
      '255',
      '256',
      '300',
      '1000',
      '',
      'a',
    ];
    const candidates: string[] = [
      ' 198.51.100.7 ',
      '198.51.100.7.',
      '.198.51.100.7',
      '198.51.100',
      '1.2.3.4.5',
    ];
    for (const a of parts) for (const b of parts) candidates.push(`${a}.1.${b}.${a}`, `10.${a}.${b}.2`);
    for (const candidate of candidates) {
      const address = candidate.trim();
      let result: string;
      try {
        result = anonymiseIp(candidate);
      } catch {
        result = 'rejected';
      }
      const expected = isIPv4(address) ? `${address.slice(0, address.lastIndexOf('.'))}.0` : 'rejected';
      expect([candidate, result]).toEqual([candidate, expected]);
    }
  });
});
