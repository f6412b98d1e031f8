import { isbot } from 'isbot';
import { UAParser } from 'ua-parser-js';
import { isBot } from 'ua-parser-js/bot-detection';
import { Bots, Crawlers, Fetchers, Libraries } from 'ua-parser-js/extensions';
import type { Enrichment } from '../types';

export type UserAgentFields = Pick<
  Enrichment,
  'browser' | 'browserVersion' | 'os' | 'osVersion' | 'deviceType' | 'isBot'
>;

const UNKNOWN: UserAgentFields = {
  browser: null,
  browserVersion: null,
  os: null,
  osVersion: null,
  deviceType: null,
  isBot: false,
};

// ua-parser-js reports no device type for desktops; these operating systems only run on one.
const DESKTOP_OS = new Set([
  'Windows',
  'macOS',
  'Mac OS',
  'Linux',
  'Ubuntu',
  'Debian',
  'Fedora',
  'Chrome OS',
  'Chromium OS',
]);

// The extensions teach the parser crawlers, fetchers and HTTP libraries, which isBot then recognises.
const parser = new UAParser([Bots, Crawlers, Fetchers, Libraries].flat());

/**
 * Parses one user agent (uncached): browser, OS, device type and whether it is a bot. A bot is what
 * either library recognises: the parser knows named crawlers and HTTP libraries, isbot's patterns
 * also catch generic ones (headless browsers, "…crawler", "…scraper", monitoring probes).
 */
export function parseUserAgent(userAgent: string): UserAgentFields {
  const result = parser.setUA(userAgent).getResult();
  const bot = isBot(result) || isbot(userAgent);
  const os = result.os.name ?? null;
  return {
    browser: result.browser.name ?? null,
    browserVersion: result.browser.version ?? null,
    os,
    osVersion: result.os.version ?? null,
    deviceType: bot ? 'bot' : (result.device.type ?? (os !== null && DESKTOP_OS.has(os) ? 'desktop' : null)),
    isBot: bot,
  };
}

/**
 * A parse cache: parsing costs about half a millisecond, and real traffic repeats a small set of
 * user agents, so a bounded map (oldest entry evicted first) turns almost every parse into a lookup.
 */
export function createUserAgentParser(maxEntries = 2000): (userAgent: string | undefined) => UserAgentFields {
  const cache = new Map<string, UserAgentFields>();
  return (userAgent) => {
    if (userAgent === undefined || userAgent === '') return UNKNOWN;
    let fields = cache.get(userAgent);
    if (fields === undefined) {
      fields = parseUserAgent(userAgent);
      if (cache.size >= maxEntries) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
      cache.set(userAgent, fields);
    }
    return fields;
  };
}
