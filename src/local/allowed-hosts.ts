/**
 * DNS rebinding: a page on evil.example whose name briefly resolves to 127.0.0.1 is same-origin
 * with the local stack and could read the playground (and its prefilled secret key). Browsers
 * always send the name they resolved in `Host`, so requests naming anything but a loopback name or
 * a configured host are refused.
 */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  return LOOPBACK_HOSTS.has(name) || name.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** The host name of a Host header, without its port; undefined when it is malformed. */
export function hostName(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(:\d{1,5})?$/i.exec(header.trim());
  return match?.[1]?.toLowerCase();
}

export function hostAllowed(header: string | undefined, configured: readonly string[]): boolean {
  const name = hostName(header);
  if (name === undefined) return false;
  return isLoopbackHost(name) || configured.some((host) => host.toLowerCase() === name);
}
