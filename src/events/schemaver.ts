import { SchemaRegistryError } from './errors';

/** A SchemaVer version: MODEL-REVISION-ADDITION. */
export interface SchemaVer {
  model: number;
  revision: number;
  addition: number;
}

/** Which part of the version a change moves; each step allows more than the one before it. */
export type SchemaVerStep = 'addition' | 'revision' | 'model';

const STEP_RANK: Record<SchemaVerStep, number> = { addition: 0, revision: 1, model: 2 };
const VERSION = /^([1-9][0-9]*)-(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$/;

export function parseSchemaVer(text: string): SchemaVer {
  const match = VERSION.exec(text);
  if (match === null) {
    throw new SchemaRegistryError(
      `"${text}" is not a SchemaVer version (MODEL-REVISION-ADDITION, e.g. 1-0-0)`,
      'SCHEMA_VERSION_INVALID',
    );
  }
  return { model: Number(match[1]), revision: Number(match[2]), addition: Number(match[3]) };
}

export const formatSchemaVer = (v: SchemaVer): string => `${v.model}-${v.revision}-${v.addition}`;

export function compareSchemaVer(a: SchemaVer, b: SchemaVer): number {
  return a.model - b.model || a.revision - b.revision || a.addition - b.addition;
}

/**
 * The step from one version to the next in a schema's history, or a reason the pair is not a
 * single SchemaVer step (a gap such as 1-0-0 → 1-0-2, or a component that did not reset).
 */
export function stepBetween(from: SchemaVer, to: SchemaVer): SchemaVerStep | { invalid: string } {
  const next = formatSchemaVer(to);
  if (to.model === from.model + 1 && to.revision === 0 && to.addition === 0) return 'model';
  if (to.model === from.model && to.revision === from.revision + 1 && to.addition === 0) return 'revision';
  if (to.model === from.model && to.revision === from.revision && to.addition === from.addition + 1)
    return 'addition';
  return { invalid: `${formatSchemaVer(from)} → ${next} is not one SchemaVer step` };
}

/** True when a change that needs `needed` may ship as a `declared` bump. */
export const stepAllows = (declared: SchemaVerStep, needed: SchemaVerStep): boolean =>
  STEP_RANK[declared] >= STEP_RANK[needed];
