import type { TrackEventInput } from '../generated/graphql';
import { StorageError } from './errors';
import type { TrackerStore } from './storage';

/** An event as it will be sent, its messageId fixed once so every resend is deduplicated downstream. */
export type QueuedEvent = TrackEventInput & { messageId: string };

export interface QueueLimits {
  maxEvents: number;
  maxBytes: number;
}

export interface PersistentQueueOptions {
  store: TrackerStore;
  key: string;
  limits: QueueLimits;
  onOverflow: (dropped: QueuedEvent[]) => void;
  onStorageError: (error: StorageError) => void;
}

interface Entry {
  event: QueuedEvent;
  bytes: number;
}

const encoder = new TextEncoder();

/** The UTF-8 size of an event as JSON, which is what batches and the queue bound count. */
export const eventBytes = (event: QueuedEvent): number => encoder.encode(JSON.stringify(event)).length;

const isQueuedEvent = (value: unknown): value is QueuedEvent =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as QueuedEvent).messageId === 'string' &&
  typeof (value as QueuedEvent).event === 'string';

/**
 * The tracker's queue: in memory, bounded by count and bytes (the oldest events give way), and
 * saved to a store after every change. Saves are serialised and coalesced. A save merges what
 * the store holds from other trackers on the same store (another browser tab), minus what this
 * one delivered, so two writers do not erase each other's events.
 */
export class PersistentQueue {
  private entries: Entry[] = [];
  private totalBytes = 0;
  /** Ids that left the queue since the last save, so a merge does not bring them back. */
  private readonly removed = new Set<string>();
  private dirty = false;
  private saving: Promise<void> | undefined;

  constructor(private readonly options: PersistentQueueOptions) {}

  get length(): number {
    return this.entries.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** Takes in whatever the store holds (events from an earlier run). */
  async load(): Promise<void> {
    const known = new Set(this.entries.map((e) => e.event.messageId));
    const stored = (await this.read()).filter((event) => !known.has(event.messageId));
    this.entries = [...stored.map((event) => ({ event, bytes: eventBytes(event) })), ...this.entries];
    this.totalBytes = this.entries.reduce((sum, e) => sum + e.bytes, 0);
    this.enforceLimits();
  }

  push(event: QueuedEvent): void {
    const entry = { event, bytes: eventBytes(event) };
    this.entries.push(entry);
    this.totalBytes += entry.bytes;
    this.enforceLimits();
  }

  /** The oldest events that fit in one batch; at least one, so an oversized event still goes (and is rejected). */
  head(maxEvents: number, maxBytes: number): QueuedEvent[] {
    const batch: QueuedEvent[] = [];
    let bytes = 0;
    for (const entry of this.entries) {
      if (batch.length >= maxEvents || (batch.length > 0 && bytes + entry.bytes > maxBytes)) break;
      batch.push(entry.event);
      bytes += entry.bytes;
    }
    return batch;
  }

  remove(messageIds: ReadonlySet<string>): void {
    if (messageIds.size === 0) return;
    this.entries = this.entries.filter((entry) => {
      if (!messageIds.has(entry.event.messageId)) return true;
      this.totalBytes -= entry.bytes;
      this.removed.add(entry.event.messageId);
      return false;
    });
  }

  /** Saves the queue as it is now; resolves once that state (or a later one) is in the store. */
  persist(): Promise<void> {
    this.dirty = true;
    this.saving ??= this.saveWhileDirty();
    return this.saving;
  }

  private async saveWhileDirty(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        await this.save();
      }
    } catch (error) {
      // The events are still in memory and the next change saves again.
      this.options.onStorageError(new StorageError('could not save the event queue', { cause: error }));
    } finally {
      this.saving = undefined;
    }
  }

  private async save(): Promise<void> {
    const removedBefore = [...this.removed];
    const stored = await this.read();
    const mine = new Set(this.entries.map((e) => e.event.messageId));
    let room = this.options.limits.maxEvents - this.entries.length;
    let roomBytes = this.options.limits.maxBytes - this.totalBytes;
    const others: QueuedEvent[] = [];
    // Newest first, so when space runs out it is the oldest of the other writers' events that go.
    for (const event of stored.reverse()) {
      if (mine.has(event.messageId) || this.removed.has(event.messageId)) continue;
      const bytes = eventBytes(event);
      if (room < 1 || bytes > roomBytes) break;
      others.unshift(event);
      room -= 1;
      roomBytes -= bytes;
    }
    const snapshot = [...others, ...this.entries.map((e) => e.event)];
    await this.options.store.set(this.options.key, JSON.stringify(snapshot));
    for (const id of removedBefore) this.removed.delete(id);
  }

  private async read(): Promise<QueuedEvent[]> {
    const raw = await this.options.store.get(this.options.key);
    if (raw === undefined) return [];
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed)) return parsed.filter(isQueuedEvent);
      throw new Error('the stored queue is not a JSON array');
    } catch (error) {
      this.options.onStorageError(new StorageError('the stored event queue is unreadable', { cause: error }));
      return [];
    }
  }

  private enforceLimits(): void {
    const { maxEvents, maxBytes } = this.options.limits;
    let cut = 0;
    let bytes = this.totalBytes;
    while (this.entries.length - cut > 1 && (this.entries.length - cut > maxEvents || bytes > maxBytes)) {
      bytes -= this.entries[cut]?.bytes ?? 0;
      cut += 1;
    }
    if (cut === 0) return;
    const dropped = this.entries.slice(0, cut).map((e) => e.event);
    this.remove(new Set(dropped.map((e) => e.messageId)));
    this.options.onOverflow(dropped);
  }
}
