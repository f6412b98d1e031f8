import { MemorySuppressionList } from './in-memory-privacy';

/**
 * A suppression list in memory that records each lookup. `failLookups` makes lookups throw;
 * `failWrites` makes suppress throw after storing the first id only, as a write cut short would;
 * `hold`, when set, keeps each lookup's answer until its release is called.
 */
export class RecordingSuppressionList extends MemorySuppressionList {
  readonly lookups: string[][] = [];
  failLookups: Error | undefined;
  failWrites: Error | undefined;
  hold: Array<() => void> | undefined;

  override async suppressed(ids: readonly string[]): Promise<Set<string>> {
    this.lookups.push([...ids]);
    if (this.failLookups) throw this.failLookups;
    const answer = await super.suppressed(ids);
    const held = this.hold;
    if (held) await new Promise<void>((release) => held.push(release));
    return answer;
  }

  override async suppress(ids: readonly string[], requestId: string): Promise<void> {
    if (this.failWrites) {
      await super.suppress(ids.slice(0, 1), requestId);
      throw this.failWrites;
    }
    await super.suppress(ids, requestId);
  }
}
