import type { Config } from '../config';
import { HOT_TIER_STORE } from '../services/hot-tier-person-eraser';

/**
 * The steps of a deletion in AWS, in the order the deletion function runs them: the warehouse's only
 * where one is configured. The GraphQL function gives each new request one step per store named
 * here, without loading the erasers (the lake's bring DuckDB), so the deletion function checks at
 * start that its erasers name the same stores. The lake goes before the warehouse, which loads from
 * it (docs/privacy.md#the-lake).
 */
export function awsDeletionStores(config: Pick<Config, 'warehouseEngine'>): string[] {
  return [
    HOT_TIER_STORE,
    'lake-events',
    'lake-failed',
    ...(config.warehouseEngine === undefined ? [] : ['warehouse']),
  ];
}
