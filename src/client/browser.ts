import type { EventContextInput } from '../generated/graphql';
import { LocalStorageStore } from './local-storage-store';
import { Tracker, type TrackerOptions } from './tracker';

export * from './index';
export { LocalStorageStore } from './local-storage-store';

export type BrowserTrackerOptions = Omit<TrackerOptions, 'attach'>;

/**
 * A tracker for web pages: context from the page (URL, referrer, title, locale, user agent), the
 * queue in localStorage so a reload does not lose it, and a flush when the page is hidden, with
 * `fetch(…, { keepalive: true })` so the request outlives the page. (sendBeacon cannot set the
 * `x-api-key` header.) Smaller default bounds suit localStorage's few megabytes per origin.
 */
export function createBrowserTracker(options: BrowserTrackerOptions): Promise<Tracker> {
  return Tracker.create({
    maxQueueEvents: 1000,
    maxQueueBytes: 1024 * 1024,
    ...options,
    store: options.store ?? new LocalStorageStore(window.localStorage),
    context: options.context ?? pageContext,
    attach: flushOnPageHide,
  });
}

/** The page as the browser sees it at the moment of the event. */
export function pageContext(): EventContextInput {
  return {
    page: {
      url: location.href,
      path: location.pathname,
      search: location.search || undefined,
      referrer: document.referrer || undefined,
      title: document.title || undefined,
    },
    locale: navigator.language,
    userAgent: navigator.userAgent,
  };
}

function flushOnPageHide(tracker: Tracker): () => void {
  // visibilitychange is the last event mobile browsers reliably fire; pagehide covers the rest.
  const onVisibility = () => {
    if (document.visibilityState === 'hidden') void tracker.flush({ keepalive: true });
  };
  const onPageHide = () => void tracker.flush({ keepalive: true });
  document.addEventListener('visibilitychange', onVisibility);
  window.addEventListener('pagehide', onPageHide);
  return () => {
    document.removeEventListener('visibilitychange', onVisibility);
    window.removeEventListener('pagehide', onPageHide);
  };
}
