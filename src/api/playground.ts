import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The GraphQL playground: GraphiQL's UMD bundle on React's UMD files, all served from installed
 * packages so it works offline (Apollo's default landing page loads from a CDN).
 */
const ASSETS: Record<string, { module: string; file: string; type: string }> = {
  'react.js': { module: 'react', file: 'umd/react.production.min.js', type: 'text/javascript' },
  'react-dom.js': { module: 'react-dom', file: 'umd/react-dom.production.min.js', type: 'text/javascript' },
  'graphiql.js': { module: 'graphiql', file: 'graphiql.min.js', type: 'text/javascript' },
  'graphiql.css': { module: 'graphiql', file: 'graphiql.min.css', type: 'text/css' },
};

const cache = new Map<string, Buffer>();

/**
 * Reads a playground asset by its public name, or undefined when there is no such asset. Locally
 * the files come from node_modules; a Lambda bundle carries copies under `bundledDir`.
 */
export async function playgroundAsset(
  name: string,
  bundledDir?: string,
): Promise<{ body: Buffer; type: string } | undefined> {
  const asset = ASSETS[name];
  if (!asset) return undefined;
  let body = cache.get(name);
  if (!body) {
    const file = bundledDir
      ? path.join(bundledDir, name)
      : path.join(path.dirname(require.resolve(`${asset.module}/package.json`)), asset.file);
    body = await readFile(file);
    cache.set(name, body);
  }
  return { body, type: asset.type };
}

export interface PlaygroundTab {
  query: string;
  variables?: string;
}

const now = () => new Date();
const isoDaysFromNow = (days: number) => new Date(now().getTime() + days * 86_400_000).toISOString();

/** Example operations the playground opens with, so a newcomer can run the pipeline in a few clicks. */
export function exampleTabs(): PlaygroundTab[] {
  // Values are written inline rather than as variables: a newcomer can edit them where they read them.
  return [
    {
      query: `# Send a batch of events: they travel the stream, the lake, the warehouse and the hot tier.
mutation TrackSomeEvents {
  trackEvents(events: [
    { event: "page_viewed", userId: "user-1", context: { page: { url: "https://shop.example/?utm_source=newsletter" } } }
    { event: "product_viewed", userId: "user-1", properties: { product_id: "sku-42", price: 19.9 } }
    { event: "product_added_to_cart", userId: "user-1", properties: { product_id: "sku-42", quantity: 1 } }
  ]) {
    accepted
    rejected
    results { messageId status errors { code path message } }
  }
}`,
    },
    {
      query: `# The hot tier: updated within a second of an event.
query User {
  user(id: "user-1") { id eventCount firstSeen lastSeen lastEvent }
}`,
    },
    {
      query: `# The warehouse: counts per hour and event (new lake files are loaded every second or so).
query EventCounts {
  eventCounts(from: "${isoDaysFromNow(-1)}", to: "${isoDaysFromNow(1)}", granularity: HOUR) {
    bucket event count users
  }
}`,
    },
    analyticsTab(),
  ];
}

/**
 * Analysts' examples over the last 30 days (events up to 30 days old are accepted): every query
 * the warehouse answers, on the event names the simulator and the end-to-end test send.
 */
function analyticsTab(): PlaygroundTab {
  const range = `from: "${isoDaysFromNow(-30)}", to: "${isoDaysFromNow(1)}"`;
  return {
    query: `# Analytics: one operation per question; pick one with the ▶ button's menu.
# Results may be cached for 30 s; dataAsOf says how fresh the warehouse is.
query Warehouse {
  warehouse { rows dataAsOf }
}

query DailyCountsBySource {
  eventCounts(${range}, granularity: DAY, groupBy: [EVENT, UTM_SOURCE]) {
    bucket count users dimensions { dimension value }
  }
}

query WeeklyByDevice {
  eventCounts(${range}, granularity: WEEK, groupBy: [DEVICE_TYPE, BROWSER]) {
    bucket count users dimensions { dimension value }
  }
}

query UniqueUsers {
  all: uniqueUsers(${range}) { count dataAsOf }
  buyers: uniqueUsers(${range}, event: "order_completed") { count }
}

query CheckoutFunnel {
  funnel(steps: ["product_viewed", "product_added_to_cart", "order_completed"], ${range}, windowHours: 24) {
    steps { event users conversion }
    dataAsOf
  }
}

query Retention {
  retention(startEvent: "page_viewed", returnEvent: "page_viewed", ${range}, period: DAY) {
    cohorts { start users returned }
    dataAsOf
  }
}

query TopProducts {
  topItems(event: "product_viewed", ${range}, limit: 10) {
    items { itemId count users }
    dataAsOf
  }
}`,
  };
}

const escapeForScript = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/**
 * The playground page. The API key is prefilled only where the local stack serves it on loopback;
 * elsewhere the headers ask for a secret key (the schema loads once one is there).
 */
export function playgroundHtml(options: {
  endpoint: string;
  apiKey?: string;
  tabs?: PlaygroundTab[];
}): string {
  const headers = options.apiKey
    ? JSON.stringify({ 'x-api-key': options.apiKey }, null, 2)
    : '{ "x-api-key": "paste a SECRET key (ANALYTICS_READ or ADMIN lets the playground read the schema)" }';
  const tabs = (options.tabs ?? exampleTabs()).map((tab) => ({ ...tab, headers }));
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Tributary playground</title>
  <link rel="stylesheet" href="/playground/assets/graphiql.css" />
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading the playground…</div>
  <script src="/playground/assets/react.js"></script>
  <script src="/playground/assets/react-dom.js"></script>
  <script src="/playground/assets/graphiql.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({ url: ${escapeForScript(options.endpoint)} });
    const root = ReactDOM.createRoot(document.getElementById('graphiql'));
    root.render(React.createElement(GraphiQL, {
      fetcher,
      defaultTabs: ${escapeForScript(tabs)},
      defaultHeaders: ${escapeForScript(headers)},
      shouldPersistHeaders: true,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: true,
    }));
  </script>
</body>
</html>`;
}
