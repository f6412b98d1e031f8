import type { ComplexityEstimator } from 'graphql-query-complexity';

/**
 * What fields cost against a key's query budget (src/api/query-budget.ts). A plain field costs 1.
 * Warehouse queries cost what they make the warehouse scan, relative to each other; a list costs
 * its `limit` times what one element selects.
 */
export const COST = {
  eventCounts: 1000,
  uniqueUsers: 500,
  funnelPerStep: 500,
  retention: 2000,
  topItems: 1000,
  replay: 1000,
} as const;

/** A fixed cost plus whatever the selection below the field costs. */
export const fixed =
  (cost: number): ComplexityEstimator =>
  ({ childComplexity }) =>
    cost + childComplexity;

/** A list of up to `limit` elements (the field's default when absent), each costing its selection. */
export const perElement =
  (defaultLimit: number, base = 1): ComplexityEstimator =>
  ({ args, childComplexity }) =>
    base + (typeof args.limit === 'number' ? args.limit : defaultLimit) * Math.max(1, childComplexity);

/** A funnel scans the events once per step. */
export const perStep: ComplexityEstimator = ({ args, childComplexity }) =>
  COST.funnelPerStep * (Array.isArray(args.steps) ? Math.max(1, args.steps.length) : 1) + childComplexity;
