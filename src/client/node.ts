import path from 'node:path';
import { FileStore } from './file-store';
import { Tracker, type TrackerOptions } from './tracker';

export * from './index';
export { FileStore } from './file-store';

export interface NodeTrackerOptions extends Omit<TrackerOptions, 'attach'> {
  /** Folder for the queue and identity files when no `store` is given. Default `.tributary-tracker` in the working directory. */
  storageDir?: string;
}

/**
 * A tracker for Node.js: the queue lives in a folder (written atomically), and when the process
 * is about to exit with events still queued it flushes them, or leaves them persisted for the next run.
 */
export function createNodeTracker(options: NodeTrackerOptions): Promise<Tracker> {
  const { storageDir, ...rest } = options;
  return Tracker.create({
    ...rest,
    store: rest.store ?? new FileStore(path.resolve(storageDir ?? '.tributary-tracker')),
    attach: flushBeforeExit,
  });
}

function flushBeforeExit(tracker: Tracker): () => void {
  let triedAt = -1;
  const onBeforeExit = () => {
    // beforeExit fires again once the flush is done; while the API is down, trying once per
    // new event lets the process exit with the events persisted instead of looping forever.
    const { pending, tracked } = tracker.stats;
    if (pending === 0 || tracked === triedAt) return;
    triedAt = tracked;
    void tracker.flush();
  };
  process.on('beforeExit', onBeforeExit);
  return () => process.off('beforeExit', onBeforeExit);
}

/**
 * For your server: signs a user token (HS256, `sub` = userId) with the stack's user-token secret
 * (TRIBUTARY_USER_TOKEN_SECRET), for a frontend to read that one user with a write key.
 */
export { signUserToken } from '../access/user-token';
