'use strict';
// Runs one emulator (kinesalite or dynalite) on a thread of its own, so its LevelDB work and
// request handling stay off the event loop that serves the API and the stream processor.
// Plain JavaScript: a worker thread is started from a file, and this one must load the same way
// under tsx, jest and node.
const { parentPort, workerData } = require('node:worker_threads');

const { lowerThreadPriority } = require('./thread-priority');

const { kind, options, port, host, niceness } = workerData;
lowerThreadPriority(niceness);
if (kind === 'dynamodb') require('./dynalite-iterators').closeDynaliteIteratorsOnReturn();
const factory = kind === 'kinesis' ? require('kinesalite') : require('dynalite');
const server = factory(options);

server.once('error', (error) =>
  parentPort.postMessage({ type: 'error', message: error.message, code: error.code }),
);
server.listen(port, host, () => parentPort.postMessage({ type: 'listening', port: server.address().port }));

parentPort.on('message', (message) => {
  if (message !== 'close') return;
  // SDK clients keep connections alive, which would hold server.close open forever.
  const reaper = setInterval(() => server.closeAllConnections(), 10);
  server.close(() => {
    clearInterval(reaper);
    parentPort.postMessage({ type: 'closed' });
  });
  server.closeAllConnections();
});
