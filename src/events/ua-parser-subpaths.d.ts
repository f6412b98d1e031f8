// ua-parser-js 2 types its subpath exports only for "node16"/"bundler" resolution; the project
// resolves as "node", so the two subpaths used here are declared against the main module's types.
declare module 'ua-parser-js/bot-detection' {
  import type { IResult } from 'ua-parser-js';
  export function isBot(resultOrUA: IResult | string): boolean;
}

declare module 'ua-parser-js/extensions' {
  import type { UAParserExt } from 'ua-parser-js';
  export const Bots: UAParserExt;
  export const Crawlers: UAParserExt;
  export const Fetchers: UAParserExt;
  export const Libraries: UAParserExt;
}
