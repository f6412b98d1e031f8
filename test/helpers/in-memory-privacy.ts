import type { DeletionRequest, DeletionRequestStore, SuppressionList } from '../../src/privacy/port';

/** Deletion requests in a map, copied in and out as a real store's would be; `failNextSave` injects a failure. */
export class MemoryDeletionRequestStore implements DeletionRequestStore {
  readonly requests = new Map<string, DeletionRequest>();
  /** Every saved state, in order. */
  readonly saves: DeletionRequest[] = [];
  failNextSave: Error | undefined;

  async create(request: DeletionRequest): Promise<void> {
    if (!this.requests.has(request.id)) this.requests.set(request.id, structuredClone(request));
  }

  async get(id: string): Promise<DeletionRequest | null> {
    const request = this.requests.get(id);
    return request === undefined ? null : structuredClone(request);
  }

  async save(request: DeletionRequest): Promise<void> {
    const failure = this.failNextSave;
    this.failNextSave = undefined;
    if (failure !== undefined) throw failure;
    this.requests.set(request.id, structuredClone(request));
    this.saves.push(structuredClone(request));
  }

  async unfinished(): Promise<DeletionRequest[]> {
    return [...this.requests.values()]
      .filter((request) => request.status !== 'COMPLETED')
      .sort((a, b) => a.requestedAt.localeCompare(b.requestedAt) || a.id.localeCompare(b.id))
      .map((request) => structuredClone(request));
  }
}

/** Suppressed ids and the request that suppressed each. */
export class MemorySuppressionList implements SuppressionList {
  readonly byId = new Map<string, string>();

  async suppress(ids: readonly string[], requestId: string): Promise<void> {
    for (const id of ids) this.byId.set(id, requestId);
  }

  async unsuppress(ids: readonly string[]): Promise<void> {
    for (const id of ids) this.byId.delete(id);
  }

  async suppressed(ids: readonly string[]): Promise<Set<string>> {
    return new Set((await this.suppressedBy(ids)).keys());
  }

  async suppressedBy(ids: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const id of ids) {
      const requestId = this.byId.get(id);
      if (requestId !== undefined) found.set(id, requestId);
    }
    return found;
  }
}
