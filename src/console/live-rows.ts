/** The live tail's pure parts: the filter form read into a `LiveEventFilter`, and a LiveEvent as a row. */
import type { ConsoleLiveEventsSubscription, LiveEventFilter, LiveEventStatus } from '../generated/graphql';
import { LIVE_EVENT_STATUSES, liveFilterProblem } from '../live/live-event';

export { LIVE_EVENT_STATUSES, type LiveEventStatus };

/** A LiveEvent as the subscription sends it. */
export type LiveEventMessage = ConsoleLiveEventsSubscription['liveEvents'];

/** What the filter form holds. */
export interface LiveFilterForm {
  /** Event names separated by commas or spaces. */
  events: string;
  userId: string;
  statuses: readonly LiveEventStatus[];
}

/** The form as a filter, or why the API would refuse it (checked here so the user sees it before subscribing). */
export function liveFilterFromForm(form: LiveFilterForm): { filter: LiveEventFilter } | { problem: string } {
  const events = [...new Set(form.events.split(/[\s,]+/).filter((name) => name !== ''))];
  const userId = form.userId.trim();
  const filter: LiveEventFilter = {};
  if (events.length > 0) filter.events = events;
  if (userId !== '') filter.userId = userId;
  // Every status ticked is no filter at all; none ticked would match nothing, which is never meant.
  if (form.statuses.length > 0 && form.statuses.length < LIVE_EVENT_STATUSES.length)
    filter.statuses = [...form.statuses];
  const problem = liveFilterProblem(filter);
  return problem === null ? { filter } : { problem };
}

export interface LiveRow {
  /** HH:MM:SS.mmm, UTC like every time the API shows. */
  time: string;
  status: LiveEventStatus;
  event: string;
  /** The userId, else the anonymous id marked as such. */
  who: string;
  messageId: string;
  /** REJECTED and FAILED rows stand out, with their errors. */
  highlighted: boolean;
  /** One line per error; the failure type first for a FAILED event. */
  problems: string[];
  /** Properties and context, pretty-printed; empty when the event carried neither. */
  payload: string;
}

export function liveRow(message: LiveEventMessage): LiveRow {
  const problems = message.errors.map(
    (error) => `${error.code}${error.path ? ` at ${error.path}` : ''}: ${error.message}`,
  );
  if (message.failureType) problems.unshift(message.failureType);
  const payload =
    message.properties || message.context
      ? JSON.stringify({ properties: message.properties, context: message.context }, null, 2)
      : '';
  return {
    time: message.receivedAt.slice(11, 23),
    status: message.status,
    event: message.event ?? '(none)',
    who: message.userId ?? (message.anonymousId ? `anonymous ${message.anonymousId}` : '(none)'),
    messageId: message.messageId,
    highlighted: message.status === 'REJECTED' || message.status === 'FAILED',
    problems,
    payload,
  };
}
