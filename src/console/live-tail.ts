/**
 * The live tail: a `liveEvents` subscription (LIVE_READ) over graphql-ws, newest row on top.
 * REJECTED and FAILED rows are highlighted with their errors; properties and context open on a click.
 */
import { createClient, type Client, type FormattedExecutionResult } from 'graphql-ws';
import { ConsoleLiveEventsDocument, type ConsoleLiveEventsSubscription } from '../generated/graphql';
import { el, field, textInput } from './dom';
import {
  LIVE_EVENT_STATUSES,
  liveFilterFromForm,
  liveRow,
  type LiveEventStatus,
  type LiveRow,
} from './live-rows';
import { describeError, panelSection } from './panel';

/** Rows kept on the page: the tail is for watching, the warehouse panels for counting. */
const MAX_ROWS = 200;

/** graphql-ws's close code for a key the server refuses; retrying with the same key cannot help. */
const FORBIDDEN = 4403;

export type LiveState = 'off' | 'connecting' | 'live' | 'error' | 'unavailable';

interface Heartbeat {
  liveHeartbeat?: { dropped?: number };
}

export class LiveTail {
  readonly element: HTMLElement;
  private readonly rows = el('tbody');
  private readonly status = el('p', { class: 'status', role: 'status' });
  private readonly events = textInput('events', '', { placeholder: 'all events', size: '30' });
  private readonly userId = textInput('userId', '', { placeholder: 'any user', size: '20' });
  private readonly statuses = LIVE_EVENT_STATUSES.map((status) =>
    el('input', { type: 'checkbox', name: 'status', value: status, checked: '' }),
  );
  private client: Client | undefined;
  private unsubscribe: (() => void) | undefined;
  private dropped = 0;
  private connected = false;

  /** `url`: the graphql-ws endpoint (ws: or wss:), or null where this deployment has none. */
  constructor(private readonly url: string | null) {
    const { element, controls } = panelSection(
      'live-tail',
      'Live tail',
      'Events as the edge answers them and as the stream fails them (liveEvents subscription); rejected and failed ones in red with their errors.',
    );
    const statusBoxes = el(
      'span',
      { class: 'statuses' },
      ...this.statuses.map((box) =>
        el('label', { class: `badge status-${box.value.toLowerCase()}` }, box, box.value),
      ),
    );
    const clear = el('button', { type: 'button' }, 'Clear');
    clear.addEventListener('click', () => this.rows.replaceChildren());
    controls.append(field('Events', this.events), field('User id', this.userId), statusBoxes, clear);
    controls.addEventListener('change', () => this.subscribe());
    const table = el(
      'table',
      { class: 'tail' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['received (UTC)', 'status', 'event', 'user', 'messageId', 'details'].map((h) =>
            el('th', {}, h),
          ),
        ),
      ),
      this.rows,
    );
    this.element = element;
    element.append(this.status, el('div', { class: 'tail-scroll' }, table));
    this.setState(
      url ? 'off' : 'unavailable',
      url ? 'Enter a key to start.' : 'This deployment has no live endpoint.',
    );
  }

  /** (Re)connects with `key`: a new key is a new connection, since the server checks it at connection_init. */
  connect(key: string): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    void this.client?.dispose();
    this.client = undefined;
    this.connected = false;
    if (!this.url) return;
    // A disposed client still reports its close: only the current one may change what the page says.
    const current = () => this.client === client;
    const client: Client = createClient({
      url: this.url,
      connectionParams: { authorization: `Bearer ${key}` },
      lazy: true,
      retryAttempts: 5,
      shouldRetry: (closed) => !isCloseEvent(closed) || closed.code !== FORBIDDEN,
      on: {
        connecting: () => {
          if (current()) this.setState('connecting', 'Connecting…');
        },
        connected: () => {
          if (!current()) return;
          this.connected = true;
          this.showLive();
        },
        closed: (closed) => {
          if (!current()) return;
          this.connected = false;
          if (isCloseEvent(closed) && closed.code !== 1000) this.setState('error', closeMessage(closed));
        },
      },
    });
    this.client = client;
    this.subscribe();
  }

  /** A new subscription with the filter the form holds now. */
  private subscribe(): void {
    const client = this.client;
    if (!client) return;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const read = liveFilterFromForm({
      events: this.events.value,
      userId: this.userId.value,
      statuses: this.statuses.filter((box) => box.checked).map((box) => box.value as LiveEventStatus),
    });
    if ('problem' in read) return this.setState('error', read.problem);
    this.dropped = 0;
    // A new filter on an open connection: no new `connected` will say so.
    if (this.connected) this.showLive();
    this.unsubscribe = client.subscribe<ConsoleLiveEventsSubscription, Heartbeat>(
      { query: ConsoleLiveEventsDocument.toString(), variables: { filter: read.filter } },
      {
        next: (result) => this.receive(result),
        error: (error) => this.setState('error', subscriptionError(error)),
        complete: () => undefined,
      },
    );
  }

  private receive(result: FormattedExecutionResult<ConsoleLiveEventsSubscription, Heartbeat>): void {
    if (result.errors?.length) {
      this.setState('error', result.errors.map((error) => error.message).join('; '));
      return;
    }
    // A heartbeat carries no data, only how many events the rate limit held back since the last one.
    if (!result.data) {
      this.dropped += result.extensions?.liveHeartbeat?.dropped ?? 0;
      this.showLive();
      return;
    }
    this.rows.prepend(rowElement(liveRow(result.data.liveEvents)));
    while (this.rows.rows.length > MAX_ROWS) this.rows.lastElementChild?.remove();
  }

  private showLive(): void {
    const dropped =
      this.dropped > 0 ? ` ${this.dropped} events were not sent to this page (rate limit).` : '';
    this.setState('live', `Live.${dropped}`);
  }

  private setState(state: LiveState, message: string): void {
    this.element.dataset.state = state;
    this.status.textContent = message;
    this.status.setAttribute('role', state === 'error' ? 'alert' : 'status');
  }
}

function rowElement(row: LiveRow): HTMLTableRowElement {
  const details = el('td', { class: 'details' });
  if (row.problems.length > 0)
    details.append(el('ul', { class: 'problems' }, ...row.problems.map((problem) => el('li', {}, problem))));
  if (row.payload)
    details.append(el('details', {}, el('summary', {}, 'payload'), el('pre', {}, row.payload)));
  return el(
    'tr',
    {
      class: row.highlighted ? 'highlighted' : '',
      'data-status': row.status,
      'data-message-id': row.messageId,
    },
    el('td', { class: 'time' }, row.time),
    el('td', {}, el('span', { class: `badge status-${row.status.toLowerCase()}` }, row.status)),
    el('td', {}, row.event),
    el('td', {}, row.who),
    el('td', {}, el('code', {}, row.messageId)),
    details,
  );
}

function isCloseEvent(value: unknown): value is CloseEvent {
  return typeof value === 'object' && value !== null && 'code' in value && 'reason' in value;
}

function closeMessage(closed: CloseEvent): string {
  if (closed.code === FORBIDDEN)
    return `Forbidden: the key may not read live events (it needs a SECRET key with LIVE_READ).${closed.reason ? ` ${closed.reason}` : ''}`;
  return `The live connection closed (${closed.code}${closed.reason ? `: ${closed.reason}` : ''}); it reconnects by itself a few times.`;
}

/** graphql-ws hands a subscription's error over as GraphQL errors, a close event, or an Error. */
function subscriptionError(error: unknown): string {
  if (Array.isArray(error))
    return error.map((item: { message?: string }) => item.message ?? String(item)).join('; ');
  if (isCloseEvent(error)) return closeMessage(error);
  return describeError(error);
}
