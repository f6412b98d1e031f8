/**
 * Browser origins as the Origin header sends them: scheme, host and port, lower case, no path.
 * A pattern may start its host with `*.` to allow every subdomain (`https://*.example.com`).
 */
const ORIGIN = /^(https?):\/\/(\*\.)?([a-z0-9-]+(\.[a-z0-9-]+)*)(:\d{1,5})?$/;

export const MAX_ALLOWED_ORIGINS = 50;

/** The origin in canonical form, or undefined when it is not one. */
export function normaliseOrigin(value: string): string | undefined {
  const lower = value.trim().toLowerCase().replace(/\/$/, '');
  return ORIGIN.test(lower) ? lower : undefined;
}

export function originAllowed(allowed: readonly string[] | null, origin: string): boolean {
  if (allowed === null) return true;
  const given = origin.toLowerCase();
  return allowed.some((pattern) => {
    if (!pattern.includes('://*.')) return pattern === given;
    const [scheme, rest] = pattern.split('://*.');
    const prefix = `${scheme}://`;
    return given.startsWith(prefix) && given.slice(prefix.length).endsWith(`.${rest}`);
  });
}
