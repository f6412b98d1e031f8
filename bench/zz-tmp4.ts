const ev: any = { messageId: 'm1', event: 'product_viewed', userId: 'u1', anonymousId: null, sessionId: null, timestamp: '2026-05-04T10:00:00.000Z', sentAt: null, receivedAt: '2026-05-04T10:00:00.200Z', source: 'g', properties: { a: 1 }, context: { page: { url: 'x' } }, processorVersion: 'x' };
function time(name: string, fn: () => unknown, n = 100000) { for (let i = 0; i < 1000; i++) fn(); const t = performance.now(); for (let i = 0; i < n; i++) fn(); console.log(name, ((performance.now() - t) * 1e6 / n).toFixed(0), 'ns'); }
time('spread', () => ({ ...ev, timestamp: 'x' }));
time('date', () => new Date(ev.receivedAt));
time('iso', () => new Date(1777777777777).toISOString());
const ua = { browser: 'a', browserVersion: 'b', os: 'c', osVersion: 'd', deviceType: null, isBot: false };
time('spread3', () => ({ ...ua, ...ua, clockSkewMs: 1 }));
