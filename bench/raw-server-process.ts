import { startRawServer } from './harness';

/**
 * The child process `startRawServerProcess()` forks: the bare node:http server alone, its URL sent
 * back to the parent. It serves until killed, or until the parent goes away.
 */
process.once('disconnect', () => process.exit(0));
startRawServer().then(
  ({ url }) => process.send?.(url),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
