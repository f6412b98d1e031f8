'use strict';
// The pipeline thread's entry file. A worker thread starts from a file, and this one must load the
// same way under tsx (`npm start`), jest and compiled JavaScript: plain JavaScript that loads the
// TypeScript next to it, registering tsx for it unless the thread runs under tsx already or the
// compiled worker.js sits beside this file.
const { existsSync } = require('node:fs');
const path = require('node:path');
const { parentPort, workerData } = require('node:worker_threads');
const { lowerThreadPriority } = require('../thread-priority');

// Before the pipeline loads: its modules and DuckDB's threads, started from this one, inherit it.
lowerThreadPriority(workerData.config.backgroundNiceness);

if (!require.extensions['.ts'] && !existsSync(path.join(__dirname, 'worker.js'))) {
  require('tsx/cjs/api').register();
}
const { runPipelineWorker } = require('./worker');

runPipelineWorker(parentPort, workerData).catch((error) => {
  // Thrown out of the thread: the API thread's 'error' listener gets it.
  process.nextTick(() => {
    throw error;
  });
});
