'use strict';
// Lowers the scheduling priority of the calling thread alone. Linux keeps a nice value per thread:
// setpriority(2) given a thread id changes that thread only, and /proc/thread-self names the
// calling thread. Elsewhere (macOS, Windows) nice values are per process, so it does nothing
// there. Plain JavaScript: worker entry files call it before anything else loads.
const { readlinkSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/**
 * Raises the calling thread's nice value to `niceness` (never lowers it) and says whether it did.
 * @param {number} niceness 1 (a little behind) to 19 (only idle time).
 * @returns {boolean}
 */
function lowerThreadPriority(niceness) {
  if (process.platform !== 'linux' || !(niceness > 0)) return false;
  try {
    const threadId = Number(path.basename(readlinkSync('/proc/thread-self')));
    if (os.getPriority(threadId) >= niceness) return false;
    os.setPriority(threadId, niceness);
    return true;
  } catch {
    // No /proc (a sandbox), or not allowed: the thread keeps its priority.
    return false;
  }
}

module.exports = { lowerThreadPriority };
