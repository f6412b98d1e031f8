import { version } from '../../package.json';

/** Stamped on every stored and failed event, so a row can be traced to the code that made it. */
export const PROCESSOR_VERSION = `tributary@${version}`;
