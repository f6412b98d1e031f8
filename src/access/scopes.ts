/**
 * What a key may do. Publishable (WRITE) keys ship in browsers and apps, so anyone can read them:
 * they may only send events and read what a product page shows anyone.
 */
export const SCOPES = [
  'INGEST',
  'PUBLIC_READ',
  'HOT_READ',
  'ANALYTICS_READ',
  'FAILED_EVENTS_READ',
  'LIVE_READ',
  'ADMIN',
] as const;
export type Scope = (typeof SCOPES)[number];

export const API_KEY_KINDS = ['WRITE', 'SECRET'] as const;
export type ApiKeyKind = (typeof API_KEY_KINDS)[number];

/** The only scopes a WRITE key may hold. */
export const PUBLISHABLE_SCOPES: readonly Scope[] = ['INGEST', 'PUBLIC_READ'];

/** Scopes a key of this kind may not hold; empty when the set is allowed. */
export function scopesNotAllowed(kind: ApiKeyKind, scopes: readonly Scope[]): Scope[] {
  if (kind === 'SECRET') return [];
  return scopes.filter((scope) => !PUBLISHABLE_SCOPES.includes(scope));
}
