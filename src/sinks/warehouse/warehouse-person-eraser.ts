import type { ErasureResult, PersonEraser } from '../../privacy/port';
import { ERASURE_COUNT_COLUMNS, removedRows } from './person-erasure';
import type { WarehousePersonRows } from './port';

/**
 * The warehouse's step of a deletion (docs/privacy.md#deletion), for either engine. It must come
 * after the lake's steps: a load reads the lake, and a file not yet rewritten would bring the person
 * back with its next load.
 */
export class WarehousePersonEraser implements PersonEraser {
  readonly store = 'warehouse';

  constructor(private readonly warehouse: WarehousePersonRows) {}

  /** Deletes the person's rows; `removed` counts every row deleted, `detail` them per table. */
  async erase(ids: readonly string[]): Promise<ErasureResult> {
    const counts = await this.warehouse.erasePerson(ids);
    const detail = ERASURE_COUNT_COLUMNS.map(([column, field]) => `${column} ${counts[field]}`).join(', ');
    return { removed: removedRows(counts), detail };
  }
}
