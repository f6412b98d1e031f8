/**
 * Real user-agent strings, weighted roughly like a shop's traffic: mostly mobile and desktop
 * browsers, a few crawlers (which enrichment should recognise as bots).
 */
export const USER_AGENTS: ReadonlyArray<{ ua: string; weight: number }> = [
  {
    ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    weight: 28,
  },
  {
    ua: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36',
    weight: 18,
  },
  {
    ua: 'Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36',
    weight: 6,
  },
  {
    ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    weight: 22,
  },
  {
    ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
    weight: 10,
  },
  {
    ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
    weight: 5,
  },
  {
    ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67',
    weight: 5,
  },
  {
    ua: 'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    weight: 3,
  },
  {
    ua: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    weight: 2,
  },
  {
    ua: 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)',
    weight: 1,
  },
];

/** Where visitors come from: the landing's UTM tags and the referrer the browser reports. */
export interface TrafficSource {
  utm: { source: string; medium: string; campaign: string } | null;
  referrer: string | null;
  weight: number;
}

export const TRAFFIC_SOURCES: readonly TrafficSource[] = [
  { utm: null, referrer: 'https://www.google.com/', weight: 30 },
  { utm: null, referrer: null, weight: 20 },
  {
    utm: { source: 'google', medium: 'cpc', campaign: 'spring_sale' },
    referrer: 'https://www.google.com/',
    weight: 15,
  },
  {
    utm: { source: 'newsletter', medium: 'email', campaign: 'weekly_picks' },
    referrer: null,
    weight: 10,
  },
  {
    utm: { source: 'facebook', medium: 'social', campaign: 'summer_launch' },
    referrer: 'https://l.facebook.com/',
    weight: 8,
  },
  {
    utm: { source: 'instagram', medium: 'social', campaign: 'summer_launch' },
    referrer: 'https://l.instagram.com/',
    weight: 7,
  },
  { utm: null, referrer: 'https://www.bing.com/', weight: 5 },
  {
    utm: { source: 'partner_blog', medium: 'referral', campaign: 'gift_guide' },
    referrer: 'https://blog.example.org/gift-guide',
    weight: 5,
  },
];

export const LOCALES = ['en-GB', 'en-US', 'de-DE', 'fr-FR', 'es-ES', 'nl-NL'] as const;
export const COUNTRIES = ['GB', 'US', 'DE', 'FR', 'ES', 'NL'] as const;
export const CATEGORIES = ['shoes', 'outerwear', 'bags', 'accessories', 'knitwear', 'home'] as const;
export const SEARCH_TERMS = ['rain jacket', 'leather bag', 'wool scarf', 'sneakers', 'gift', 'sale'] as const;

/** Picks by weight. */
export function weighted<T extends { weight: number }>(items: readonly T[], roll: number): T {
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  let left = roll * total;
  for (const item of items) {
    left -= item.weight;
    if (left < 0) return item;
  }
  const last = items.at(-1);
  if (last === undefined) throw new RangeError('weighted() from an empty list');
  return last;
}
