import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { PENDING_PARTITION } from '../src/sinks/hot-tier/dynamodb/hot-store-keys';

/** What a hot-table item is, by its key: how the units are split. */
export const UNIT_KINDS = [
  'profiles',
  'identities',
  'pending log',
  'items',
  'trends',
  'edge markers',
] as const;
export type UnitKind = (typeof UNIT_KINDS)[number];

export interface KindUnits {
  /** Items read (found or not), and the read request units DynamoDB charged for them. */
  reads: number;
  rru: number;
  /** Items written, and the write request units charged. */
  writes: number;
  wru: number;
}

type Key = { pk?: unknown; sk?: unknown };

/** The kind of a hot-table item, from the key layout of src/sinks/hot-tier/dynamodb/hot-store-keys.ts. */
export function kindOf(key: Key): UnitKind {
  const pk = String(key.pk);
  const sk = String(key.sk);
  if (pk.startsWith('MSG#') && sk === 'DEDUPE') return 'edge markers';
  if (pk.startsWith('USER#')) return sk === 'IDENTITY' ? 'identities' : 'profiles';
  if (pk.startsWith('ITEM#')) return 'items';
  if (pk.startsWith('TREND#')) return 'trends';
  if (pk === PENDING_PARTITION) return 'pending log';
  throw new Error(`no kind for key ${pk}/${sk}`);
}

const unitsOf = (capacity: ConsumedCapacity | ConsumedCapacity[] | undefined): number =>
  [capacity ?? []].flat().reduce((sum, c) => sum + (c.CapacityUnits ?? 0), 0);

function sameKind(keys: readonly Key[]): UnitKind {
  const kinds = new Set(keys.map(kindOf));
  const [kind] = kinds;
  if (kinds.size !== 1 || kind === undefined) throw new Error(`one request wrote ${[...kinds].join(', ')}`);
  return kind;
}

interface TableRequest {
  Keys?: Key[];
  ConsistentRead?: boolean;
}
interface WriteRequest {
  PutRequest?: { Item?: Key & { d?: Uint8Array } };
  DeleteRequest?: { Key?: Key };
}

/** What the pending log's appends stored: parts written, and their compressed changes. */
export interface PendingAppends {
  parts: number;
  changeBytes: number;
}

/**
 * Counts the request units DynamoDB (here dynalite) reports for every request of a document
 * client, per kind of item: each request asks for `ReturnConsumedCapacity: 'TOTAL'`. A BatchGet of
 * several kinds reports one total for all, so its keys are read once more per kind (reads change
 * nothing) and the per-kind totals are checked to add up to the one reported.
 */
export class ConsumedUnits {
  private readonly units = Object.fromEntries(
    UNIT_KINDS.map((kind) => [kind, { reads: 0, rru: 0, writes: 0, wru: 0 }]),
  ) as Record<UnitKind, KindUnits>;
  private readonly appended: PendingAppends = { parts: 0, changeBytes: 0 };
  /** While false, requests pass through uncounted (a warm-up). */
  counting = false;

  /**
   * @param client the client whose requests are counted
   * @param probe a client to the same table without the counter, for the per-kind reads
   */
  constructor(
    client: DynamoDBDocumentClient,
    private readonly probe: DynamoDBDocumentClient,
  ) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        const output = await next({ ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } });
        if (this.counting) {
          await this.count(context.commandName ?? '', input, output.output as Record<string, unknown>);
        }
        return output;
      },
      { step: 'initialize', name: 'consumedUnits' },
    );
  }

  /** Units per kind so far. */
  get byKind(): Readonly<Record<UnitKind, Readonly<KindUnits>>> {
    return this.units;
  }

  /** The pending log's appends so far. */
  get pendingAppends(): Readonly<PendingAppends> {
    return this.appended;
  }

  private add(kind: UnitKind, units: Partial<KindUnits>): void {
    const entry = this.units[kind];
    entry.reads += units.reads ?? 0;
    entry.rru += units.rru ?? 0;
    entry.writes += units.writes ?? 0;
    entry.wru += units.wru ?? 0;
  }

  private async count(
    command: string,
    input: Record<string, unknown>,
    output: Record<string, unknown>,
  ): Promise<void> {
    const consumed = unitsOf(output.ConsumedCapacity as ConsumedCapacity | ConsumedCapacity[] | undefined);
    switch (command) {
      case 'GetItemCommand':
        this.add(kindOf(input.Key as Key), { reads: 1, rru: consumed });
        return;
      case 'PutItemCommand':
        this.add(kindOf(input.Item as Key), { writes: 1, wru: consumed });
        return;
      case 'DeleteItemCommand':
        // A profile's rebase deletes the base it leaves (billed by the deleted item's size).
        this.add(kindOf(input.Key as Key), { writes: 1, wru: consumed });
        return;
      case 'BatchWriteItemCommand': {
        const requests = Object.values(input.RequestItems as Record<string, WriteRequest[]>).flat();
        const keys = requests.map((r) => r.PutRequest?.Item ?? r.DeleteRequest?.Key ?? {});
        const kind = sameKind(keys);
        this.add(kind, { writes: keys.length, wru: consumed });
        if (kind === 'pending log') {
          for (const { PutRequest } of requests) {
            const changes = PutRequest?.Item?.d;
            if (changes === undefined) continue;
            this.appended.parts += 1;
            this.appended.changeBytes += changes.length;
          }
        }
        return;
      }
      case 'QueryCommand': {
        // Only the fold queries the hot table, and only the pending log's partition.
        const values = input.ExpressionAttributeValues as Record<string, unknown> | undefined;
        const items = (output.Items as unknown[] | undefined) ?? [];
        this.add(kindOf({ pk: values?.[':pk'], sk: '' }), { reads: items.length, rru: consumed });
        return;
      }
      case 'BatchGetItemCommand':
        await this.countBatchGet(input.RequestItems as Record<string, TableRequest>, consumed);
        return;
      default:
        throw new Error(`${command} is not counted`);
    }
  }

  private async countBatchGet(requests: Record<string, TableRequest>, consumed: number): Promise<void> {
    const [table = '', request] = Object.entries(requests)[0] ?? [];
    const keys = request?.Keys ?? [];
    const byKind = new Map<UnitKind, Key[]>();
    for (const key of keys) byKind.set(kindOf(key), [...(byKind.get(kindOf(key)) ?? []), key]);
    const [only] = byKind.keys();
    if (byKind.size === 1 && only !== undefined) {
      this.add(only, { reads: keys.length, rru: consumed });
      return;
    }
    let total = 0;
    for (const [kind, kindKeys] of byKind) {
      const probed = await this.probe.send(
        new BatchGetCommand({
          RequestItems: { [table]: { Keys: kindKeys, ConsistentRead: request?.ConsistentRead } },
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      const units = unitsOf(probed.ConsumedCapacity);
      total += units;
      this.add(kind, { reads: kindKeys.length, rru: units });
    }
    if (Math.abs(total - consumed) > 1e-9) {
      throw new Error(`per-kind reads came to ${total} units, the BatchGet itself to ${consumed}`);
    }
  }
}
