import { campaignFromUrl } from '../../src/events/enrich/campaign';
import { createEnricher } from '../../src/events/enrich/enrich-event';
import { correctEventTime } from '../../src/events/enrich/event-time';
import { anonymiseIp } from '../../src/events/enrich/ip';
import { pseudonym, pseudonymise } from '../../src/events/enrich/pii';
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
    const result = pseudonymise(properties, [['email'], ['people', '*', 'name'], ['absent']], 'k1');
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
      piiPaths: [],
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
