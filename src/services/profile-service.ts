import type { HotStore, UserProfileRecord } from '../sinks/hot-tier/port';

/** Reads what the hot tier knows about users. */
export class ProfileService {
  constructor(private readonly hotStore: HotStore) {}

  /** The profile of a user or anonymous visitor, or null when never seen. */
  user(id: string): Promise<UserProfileRecord | null> {
    return this.hotStore.getUser(id);
  }
}
