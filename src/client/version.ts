import { version } from '../../package.json';

/** Sent in every event's `context.library`, so rows can be traced to the tracker that sent them. */
export const LIBRARY = { name: 'tributary-tracker', version } as const;
