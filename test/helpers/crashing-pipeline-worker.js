'use strict';
// A pipeline thread with a bug: it starts like the real one, then throws on its first drain
// request, as an uncaught error in the real thread would end it.
const { parentPort } = require('node:worker_threads');

parentPort.on('message', (message) => {
  if (message.kind === 'drain') throw new Error('a bug in the pipeline');
});
parentPort.postMessage({ kind: 'started' });
