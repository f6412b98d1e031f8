'use strict';
// dynalite 4 ends the LevelDB iterator behind each Query and Scan stream by calling
// `iterator.return()`, which abstract-level 3 iterators do not have: they end with `close()`. So
// every Query and Scan left its iterator open until the database closed, and with it native memory
// (read-ahead buffers, and a snapshot that keeps old write buffers alive while writes go on). The
// hot tier's fold queries the pending log every second, so the embedded stack's memory grew by
// about 1.5 MB a query. Giving the iterators the `return()` dynalite calls closes them.
// Plain JavaScript: loaded by the emulator worker thread, which starts from a plain file.
const path = require('node:path');

/** The abstract-level that dynalite's on-disk database (level → classic-level) builds on. */
function dynaliteAbstractLevel() {
  const from = (name, dir) => path.dirname(require.resolve(name, { paths: [dir] }));
  const dynalite = path.dirname(require.resolve('dynalite'));
  const classicLevel = from('classic-level', from('level', dynalite));
  return require(require.resolve('abstract-level', { paths: [classicLevel] }));
}

/** Makes `return()` close dynalite's iterators, once per process; a later abstract-level that has it wins. */
function closeDynaliteIteratorsOnReturn() {
  const { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } = dynaliteAbstractLevel();
  for (const Iterator of [AbstractIterator, AbstractKeyIterator, AbstractValueIterator]) {
    if (typeof Iterator.prototype.return === 'function') continue;
    Object.defineProperty(Iterator.prototype, 'return', {
      configurable: true,
      writable: true,
      value: function closeOnReturn() {
        return this.close();
      },
    });
  }
}

module.exports = { closeDynaliteIteratorsOnReturn };
