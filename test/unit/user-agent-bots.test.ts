import { parseUserAgent } from '../../src/events/enrich/user-agent';

describe('bot detection', () => {
  it('flags what either ua-parser-js or isbot recognises, and no ordinary browser', () => {
    const agents = {
      googlebot: 'Googlebot/2.1 (+http://www.google.com/bot.html)',
      // ua-parser-js reads this as Chrome; isbot knows headless browsers.
      headless:
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
      scraper: 'Mozilla/5.0 (compatible; price-scraper/2.3; +https://example.org/scraper)',
      chrome:
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
      iphone:
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
    };
    const flags = Object.fromEntries(
      Object.entries(agents).map(([name, ua]) => [
        name,
        [parseUserAgent(ua).isBot, parseUserAgent(ua).deviceType],
      ]),
    );
    expect(flags).toEqual({
      googlebot: [true, 'bot'],
      headless: [true, 'bot'],
      scraper: [true, 'bot'],
      chrome: [false, 'desktop'],
      iphone: [false, 'mobile'],
    });
  });
});
