/** A run of activity with no gap longer than the inactivity limit. Times are ISO 8601 UTC. */
export interface Session {
  start: string;
  end: string;
  events: number;
}

export const SESSION_GAP_MS = 30 * 60 * 1000;

/**
 * Adds one event time to sessions sorted by start. An event within the gap of one or more
 * sessions joins them (a late event can bridge two sessions into one); otherwise it opens a new
 * session. Returns the sessions still sorted and how the number of sessions changed (+1, 0 or
 * negative when it bridged several).
 */
export function addToSessions(
  sessions: readonly Session[],
  at: string,
  gapMs = SESSION_GAP_MS,
): { sessions: Session[]; change: number } {
  const time = Date.parse(at);
  const touching: Session[] = [];
  const rest: Session[] = [];
  for (const session of sessions) {
    const near = time >= Date.parse(session.start) - gapMs && time <= Date.parse(session.end) + gapMs;
    (near ? touching : rest).push(session);
  }
  const joined = touching.reduce<Session>(
    (acc, s) => ({
      start: s.start < acc.start ? s.start : acc.start,
      end: s.end > acc.end ? s.end : acc.end,
      events: acc.events + s.events,
    }),
    { start: at, end: at, events: 1 },
  );
  const result = [...rest, joined].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return { sessions: result, change: 1 - touching.length };
}
