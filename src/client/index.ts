/** The tracker's environment-neutral API; `./node` and `./browser` add storage and exit hooks. */
export { Tracker } from './tracker';
export type {
  EventError,
  FlushOptions,
  FlushResult,
  TrackerOptions,
  TrackerStats,
  TrackOptions,
} from './tracker';
export { MemoryStore, type TrackerStore } from './storage';
export {
  ApiRequestError,
  QueueOverflowError,
  StorageError,
  TrackerClosedError,
  TrackerError,
} from './errors';
export { LIBRARY } from './version';
export type { EventContextInput, TrackEventInput } from '../generated/graphql';
