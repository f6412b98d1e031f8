import { campaignFromUrl } from '../../src/events/enrich/campaign';
import { createEnricher } from '../../src/events/enrich/enrich-event';
import { correctEventTime } from '../../src/events/enrich/event-time';
import { anonymiseIp, anonymiseIpsIn } from '../../src/events/enrich/ip';
import { createPseudonymiser, pseudonym, pseudonymise } from '../../src/events/enrich/pii';
import { createPiiDetector, isEmail, isPhone } from '../../src/events/enrich/pii-detector';
import { piiMarksOf } from '../../src/events/pii-marks';
import { createPayloadScrubber } from '../../src/events/scrub-payload';
import { classifyReferrer, referrerTable } from '../../src/events/enrich/referrer';
import { createUserAgentParser, parseUserAgent } from '../../src/events/enrich/user-agent';
import type { StoredEvent } from '../../src/events/types';

describe('anonymiseIp', () => {
  it('drops the last IPv4 octet and the last 80 bits of IPv6, idempotently', () => {
    expect(anonymiseIp('203.0.113.77')).toBe('203.0.113.0');
    expect(anonymiseIp('2001:db8:abcd:12:ff::1')).toBe('2001:db8:abcd::');
    expect(anonymiseIp('2001:0DB8:0000:0042::7%eth0')).toBe('2001:db8:0::');
    expect(anonymiseIp('::ffff:198.51.100.9')).toBe('::ffff:198.51.100.0');
    expect(anonymiseIp('::1')).toBe('0:0:0::');
    expect(anonymiseIp(anonymiseIp('2001:db8:abcd:12::1'))).toBe('2001:db8:abcd::');
  });

  it('refuses what is not an address, naming the field', () => {
    expect(() => anonymiseIp('localhost')).toThrow(
      expect.objectContaining({ code: 'ENRICHMENT_FAILED', path: '/context/ip' }),
    );
  });
});

describe('campaignFromUrl', () => {
  it('reads utm_* parameters and nothing else', () => {
    expect(
      campaignFromUrl(
        'https://s.example/?utm_source=news&utm_medium=email&utm_campaign=may&utm_term=shoes&utm_content=hero',
      ),
    ).toEqual({
      utmSource: 'news',
      utmMedium: 'email',
      utmCampaign: 'may',
      utmTerm: 'shoes',
      utmContent: 'hero',
    });
    expect(campaignFromUrl('https://s.example/?utm_source=&q=utm_x')).toMatchObject({ utmSource: null });
    expect(campaignFromUrl('not a url utm_source=x')).toMatchObject({ utmSource: null });
    expect(campaignFromUrl(undefined)).toMatchObject({ utmCampaign: null });
  });
});

describe('classifyReferrer', () => {
  it('classifies by the most specific listed domain, the page own site, or other', () => {
    expect(classifyReferrer('https://www.google.co.uk/search?q=x', undefined)).toEqual({
      referrerClass: 'search',
      referrerHost: 'www.google.co.uk',
    });
    expect(classifyReferrer('https://mail.google.com/mail/u/0', undefined).referrerClass).toBe('email');
    expect(classifyReferrer('https://l.facebook.com/l.php', undefined).referrerClass).toBe('social');
    expect(classifyReferrer('https://www.shop.example/cart', 'https://shop.example/p/1').referrerClass).toBe(
      'internal',
    );
    expect(classifyReferrer('http://[2001:db8::1]:8080/', undefined).referrerClass).toBe('other');
    expect(classifyReferrer('', undefined)).toEqual({ referrerClass: null, referrerHost: null });
  });

  it('takes its list from data', () => {
    const table = referrerTable({ social: ['forum.example'] });
    expect(classifyReferrer('https://a.forum.example/t/1', undefined, table).referrerClass).toBe('social');
  });
});

describe('user agents', () => {
  it('parses browser, OS, device type and bots', () => {
    expect(
      parseUserAgent(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
      ),
    ).toMatchObject({
      browser: 'Mobile Safari',
      os: 'iOS',
      osVersion: '17.4',
      deviceType: 'mobile',
      isBot: false,
    });
    expect(
      parseUserAgent('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'),
    ).toMatchObject({
      isBot: true,
      deviceType: 'bot',
    });
  });

  it('caches parses, evicting the oldest beyond its size', () => {
    const parse = createUserAgentParser(2);
    const a = parse('Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0');
    expect(parse('Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0')).toBe(a);
    parse('curl/8.0');
    parse('Wget/1.21');
    expect(parse('Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0')).not.toBe(a);
    expect(parse(undefined)).toMatchObject({ browser: null, isBot: false });
  });
});

describe('pseudonymise', () => {
  it('replaces x-pii values with a keyed HMAC, leaving the rest and the input untouched', () => {
    const properties = {
      email: 'ada@example.com',
      plan: 'pro',
      people: [{ name: 'Ada' }, { name: 'Grace' }],
    };
    const marks = piiMarksOf(
      {
        type: 'object',
        properties: {
          email: { 'x-pii': true },
          people: { items: { properties: { name: { 'x-pii': true } } } },
          absent: { 'x-pii': true },
        },
      },
      'signup',
      'signup/1-0-0',
    );
    if (marks === null) throw new Error('the schema marks fields');
    const result = pseudonymise(properties, marks, 'k1');
    expect(result.email).toBe(pseudonym('ada@example.com', 'k1'));
    expect(result.email).toMatch(/^[0-9a-f]{64}$/);
    expect(result.email).not.toBe(pseudonym('ada@example.com', 'k2'));
    expect(result.plan).toBe('pro');
    expect((result.people as Array<{ name: string }>)[1]?.name).toBe(pseudonym('Grace', 'k1'));
    expect(properties.email).toBe('ada@example.com');
    expect('absent' in result).toBe(false);
  });
});

describe('correctEventTime', () => {
  const received = Date.parse('2026-05-04T12:00:00.000Z');
  const day = 86_400_000;

  it('shifts the event time by the client clock offset', () => {
    const sent = received - 3_600_000 - 200; // the client clock is an hour behind, plus 200 ms of latency
    expect(
      correctEventTime({ timestampMs: sent - 5000, sentAtMs: sent, receivedAtMs: received }, 30 * day),
    ).toEqual({
      timestampMs: received - 5000,
      clockSkewMs: 3_600_200,
      timeFlag: null,
    });
    expect(correctEventTime({ receivedAtMs: received }, day)).toEqual({
      timestampMs: received,
      clockSkewMs: null,
      timeFlag: null,
    });
  });

  it('flags times over a day ahead or beyond the horizon', () => {
    expect(correctEventTime({ timestampMs: received + day + 1, receivedAtMs: received }, day).timeFlag).toBe(
      'future',
    );
    expect(
      correctEventTime({ timestampMs: received - 3 * day, receivedAtMs: received }, 2 * day).timeFlag,
    ).toBe('too_old');
    expect(
      correctEventTime({ timestampMs: received - day, receivedAtMs: received }, 2 * day).timeFlag,
    ).toBeNull();
  });
});

describe('createEnricher', () => {
  it('fills the enrichment, item id and schema version and anonymises the IP', () => {
    const enrich = createEnricher({ piiSecret: 'k', horizonMs: 30 * 86_400_000 });
    const event: StoredEvent = {
      messageId: 'm',
      event: 'product_viewed',
      userId: 'u',
      anonymousId: null,
      sessionId: null,
      timestamp: '2026-05-04T11:00:00.000Z',
      sentAt: null,
      receivedAt: '2026-05-04T12:00:00.000Z',
      source: 'graphql',
      properties: { product_id: 42 },
      context: { ip: '192.0.2.10', page: { url: 'https://x.example/?utm_source=a' } },
      processorVersion: 'v',
    };
    const schema = {
      event: 'product_viewed',
      version: '1-0-0',
      ref: 'product_viewed/1-0-0',
      itemProperty: 'product_id',
      itemList: null,
      pii: null,
      validate: (() => true) as never,
    };
    const enriched = enrich(event, { timestampMs: Date.parse(event.timestamp) }, schema);
    expect(enriched).toMatchObject({
      itemId: '42',
      schemaVersion: '1-0-0',
      timestamp: '2026-05-04T11:00:00.000Z',
      originalTimestamp: '2026-05-04T11:00:00.000Z',
      context: { ip: '192.0.2.0' },
      enrichment: { utmSource: 'a', clockSkewMs: null, timeFlag: null, browser: null },
    });
    expect(event.context.ip).toBe('192.0.2.10');
  });
});

describe('the default PII detector', () => {
  it.each(['ada@example.com', 'Ada.Lovelace+news@mail.example.co.uk', "o'brien@example.ie"])(
    'takes %p for an email address',
    (value) => expect(isEmail(value)).toBe(true),
  );
  it.each(['+44 20 7946 0958', '+1 (555) 010-7788', '(555) 010-4477', '+4930901820', '+33.1.23.45.67.89'])(
    'takes %p for a phone number',
    (value) => expect(isPhone(value)).toBe(true),
  );
  it.each([
    'ada at example.com',
    'ada@localhost',
    'write to ada@example.com',
    '20260504123456',
    '2026-05-04',
    '0471 12 34 56',
    '+15',
    '+1234567890123456789',
    '19.90',
    'sku-0042-77',
  ])('takes %p for neither', (value) => {
    expect(isEmail(value)).toBe(false);
    expect(isPhone(value)).toBe(false);
  });

  it('looks for what it is configured to, or nothing when off', () => {
    expect(createPiiDetector(['email'])?.('+44 20 7946 0958')).toBe(false);
    expect(createPiiDetector(['phone'])?.('+44 20 7946 0958')).toBe(true);
    expect(createPiiDetector([])).toBeNull();
  });
});

describe('createEnricher on events without a schema', () => {
  const event = (properties: Record<string, unknown>): StoredEvent => ({
    messageId: 'm',
    event: 'newsletter_signup',
    userId: 'u',
    anonymousId: null,
    sessionId: null,
    timestamp: '2026-05-04T11:00:00.000Z',
    sentAt: null,
    receivedAt: '2026-05-04T12:00:00.000Z',
    source: 'graphql',
    properties,
    context: {},
    processorVersion: 'v',
  });
  const properties = {
    contact: { email: 'ada@example.com', phones: ['+44 20 7946 0958'] },
    traits: { email: 'grace@example.com' },
    order_id: '20260504123456',
  };

  it('hashes what the detector takes for personal data, at any depth', () => {
    const enrich = createEnricher({ piiSecret: 'k', horizonMs: 86_400_000 });
    expect(enrich(event(properties), {}, null).properties).toEqual({
      contact: { email: pseudonym('ada@example.com', 'k'), phones: [pseudonym('+44 20 7946 0958', 'k')] },
      traits: { email: pseudonym('grace@example.com', 'k') },
      order_id: '20260504123456',
    });
    expect(properties.contact.email).toBe('ada@example.com');
  });

  it('keeps the properties object itself when nothing looks like personal data, or the detector is off', () => {
    const plain = { list: ['birthday', { n: 3 }] };
    expect(createEnricher({ piiSecret: 'k', horizonMs: 1 })(event(plain), {}, null).properties).toBe(plain);
    const off = createEnricher({ piiSecret: 'k', horizonMs: 1, piiDetector: [] });
    expect(off(event(properties), {}, null).properties).toBe(properties);
  });
});

describe('anonymiseIpsIn', () => {
  it('anonymises every address written in a text, leaving what only looks alike', () => {
    expect(anonymiseIpsIn('203.0.113.75, 198.51.100.76')).toBe('203.0.113.0, 198.51.100.0');
    expect(anonymiseIpsIn('"ip":"2001:db8:85a3:8d3:1319:8a2e:370:7348"')).toBe('"ip":"2001:db8:85a3::"');
    expect(anonymiseIpsIn('from ::ffff:203.0.113.9.')).toBe('from ::ffff:203.0.113.0.');
    for (const kept of ['10:00:00.000Z', 'Chrome/124.0.0.0', '256.1.1.1', 'version 1.2.3'])
      expect(anonymiseIpsIn(kept)).toBe(kept);
  });
});

describe('createPayloadScrubber', () => {
  const hash = createPseudonymiser('k');
  const scrub = createPayloadScrubber({ hash, detector: createPiiDetector() });
  const marks = piiMarksOf(
    { type: 'object', properties: { email: { type: 'string', 'x-pii': true } } },
    'identify',
    'identify/1-0-0',
  );

  it('scrubs a readable record as the good path stores it: IPs, marked fields, traits', () => {
    const body = JSON.parse(
      '{"event":"identify","sourceIp":"198.51.100.7","context":{"ip":"203.0.113.9, 10.1.2.3","locale":"en"},' +
        '"properties":{"email":"a@example.com","phone":"+44 20 7946 0958","traits":{"email":"b@example.com"}},' +
        '"extra":{"note":"call +44 20 7946 0958 or mail c@example.com"}}',
    ) as Record<string, unknown>;
    const scrubbed = scrub.record(body, { pii: marks });
    expect(JSON.parse(JSON.stringify(scrubbed))).toEqual({
      event: 'identify',
      sourceIp: '198.51.100.0',
      context: { ip: '203.0.113.0, 10.1.2.0', locale: 'en' },
      // With a schema only its marks count: the unmarked phone stays, as it would in a stored event.
      properties: {
        email: hash('a@example.com'),
        phone: '+44 20 7946 0958',
        traits: { email: hash('b@example.com') },
      },
      // A key the pipeline does not read is scrubbed as text.
      extra: { note: `call ${hash('+44 20 7946 0958')} or mail ${hash('c@example.com')}` },
    });
    expect((body.properties as Record<string, unknown>).email).toBe('a@example.com');
  });

  it('uses the detector for a record whose event has no schema, and returns a clean record as it is', () => {
    const body = { event: 'signup', properties: { contact: 'a@example.com', n: 1 } };
    expect(scrub.record(body, null)).toEqual({
      event: 'signup',
      properties: { contact: hash('a@example.com'), n: 1 },
    });
    const clean = { event: 'signup', properties: { n: 1 }, context: { ip: '203.0.113.0' } };
    expect(scrub.record(clean, null)).toBe(clean);
  });

  it('keeps a reserved key a plain field in its copies', () => {
    const body = JSON.parse('{"__proto__":{"x":1},"sourceIp":"198.51.100.7"}') as Record<string, unknown>;
    const scrubbed = scrub.record(body, null);
    expect(JSON.stringify(scrubbed)).toBe('{"__proto__":{"x":1},"sourceIp":"198.51.100.0"}');
    expect(Object.getPrototypeOf(scrubbed)).toBeNull();
  });

  it('scrubs unreadable text: addresses, emails and phone numbers anywhere, whatever the detector', () => {
    const off = createPayloadScrubber({ hash, detector: null });
    const text =
      '{"ip":"203.0.113.75","mail":"ada@example.com.","tel":"+1 (555) 010-7788","id":"20260504123456"';
    expect(off.text(text)).toBe(
      `{"ip":"203.0.113.0","mail":"${hash('ada@example.com')}.","tel":"${hash('+1 (555) 010-7788')}","id":"20260504123456"`,
    );
  });

  it('reads a megabyte of junk in linear time', () => {
    const junk = `a@${'b'.repeat(500_000)}${'@c'.repeat(250_000)}`;
    const started = Date.now();
    expect(scrub.text(junk)).toBe(junk);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
