/** A tiny shop whose clicks are tracked by the browser SDK, so a newcomer can watch events arrive. */
export interface DemoProduct {
  id: string;
  name: string;
  price: number;
}

export const DEMO_PRODUCTS: DemoProduct[] = [
  { id: 'sku-tea', name: 'Loose-leaf tea', price: 8.5 },
  { id: 'sku-mug', name: 'Stoneware mug', price: 14 },
  { id: 'sku-kettle', name: 'Gooseneck kettle', price: 49.9 },
];

const escapeForScript = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** The demo page; the local stack injects its publishable write key, the only key a browser may hold. */
export function demoHtml(options: { endpoint: string; apiKey?: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>Tributary demo shop</title>
  <style>
    body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; padding: 0 1rem; }
    .products { display: grid; grid-template-columns: repeat(3, 1fr); gap: 1rem; }
    .product { border: 1px solid #ccc; border-radius: 8px; padding: 1rem; }
    button { margin: 0.25rem 0.25rem 0 0; }
    #log { background: #f6f6f6; padding: 0.5rem; height: 12rem; overflow: auto; font: 12px monospace; }
  </style>
</head>
<body>
  <h1>Tributary demo shop</h1>
  <p>Every click below is tracked by the browser SDK and sent to <code>${options.endpoint}</code>.
    Watch the events arrive in the <a href="/playground">playground</a> (query <code>user</code> with the visitor id).</p>
  <p>Visitor <code id="visitor">…</code> · <span id="stats">starting…</span></p>
  <div class="products" id="products"></div>
  <p>Cart: <span id="cart">empty</span></p>
  <button id="checkout">Checkout</button>
  <button id="order">Place order</button>
  <button id="sign-in">Sign in as demo-user</button>
  <h2>Events</h2>
  <div id="log"></div>
  <script src="/demo/tracker.js"></script>
  <script>
    const PRODUCTS = ${escapeForScript(DEMO_PRODUCTS)};
    const $ = (id) => document.getElementById(id);
    const log = (line) => { $('log').textContent = line + '\\n' + $('log').textContent; };
    const cart = [];
    Tributary.createBrowserTracker({
      endpoint: ${escapeForScript(options.endpoint)},
      apiKey: ${escapeForScript(options.apiKey ?? '')},
      app: { name: 'tributary-demo-shop', version: '1.0.0' },
      flushIntervalMs: 500,
      onRejected: (event, errors) => log('rejected ' + event.event + ': ' + errors.map((e) => e.message).join('; ')),
      onError: (error) => log('error ' + error.code + ': ' + error.message),
    }).then((tracker) => {
      window.tracker = tracker;
      const track = (event, properties) => log(event + ' ' + tracker.track(event, properties));
      const total = () => cart.reduce((sum, p) => sum + p.price, 0);
      for (const product of PRODUCTS) {
        const card = document.createElement('div');
        card.className = 'product';
        card.innerHTML = '<strong></strong><div></div>';
        card.querySelector('strong').textContent = product.name;
        card.querySelector('div').textContent = product.price.toFixed(2) + ' EUR';
        const button = (label, action) => {
          const b = document.createElement('button');
          b.textContent = label;
          b.dataset.product = product.id;
          b.addEventListener('click', action);
          card.appendChild(b);
        };
        const properties = { product_id: product.id, name: product.name, price: product.price, currency: 'EUR' };
        button('View', () => track('product_viewed', properties));
        button('Add to cart', () => {
          cart.push(product);
          $('cart').textContent = cart.map((p) => p.name).join(', ');
          track('product_added_to_cart', { ...properties, quantity: 1 });
        });
        $('products').appendChild(card);
      }
      $('checkout').addEventListener('click', () =>
        track('checkout_started', { value: total(), currency: 'EUR', products: cart.map((p) => ({ product_id: p.id })) }));
      $('order').addEventListener('click', () => {
        // The order lists its products: the hot tier counts each as purchased (no per-line events).
        track('order_completed', {
          order_id: 'order-' + Date.now(),
          total: total(),
          currency: 'EUR',
          products: cart.map((p) => ({ product_id: p.id, price: p.price, quantity: 1 })),
        });
        cart.length = 0;
        $('cart').textContent = 'empty';
      });
      $('sign-in').addEventListener('click', () => log('identify ' + tracker.identify('demo-user', { plan: 'free' })));
      $('visitor').textContent = tracker.anonymousId;
      log('page_viewed ' + tracker.page('shop'));
      setInterval(() => {
        const s = tracker.stats;
        $('stats').textContent = 'tracked ' + s.tracked + ' · delivered ' + s.delivered + ' · rejected ' + s.rejected + ' · pending ' + s.pending;
      }, 200);
    });
  </script>
</body>
</html>`;
}
