import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

const MODULE = path.join(__dirname, '../../src/local/thread-priority.js');

/** Runs lowerThreadPriority in a fresh worker thread: what each call answered, then its nice value. */
function inWorker(calls: number[]): Promise<{ answers: boolean[]; nice: number }> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { readlinkSync } = require('node:fs');
    const { lowerThreadPriority } = require(workerData.module);
    const answers = workerData.calls.map((n) => lowerThreadPriority(n));
    const threadId = Number(readlinkSync('/proc/thread-self').split('/').pop());
    // Stay alive until asked, so the test can read this thread's nice value.
    parentPort.postMessage({ answers, threadId });
    parentPort.once('message', () => process.exit(0));`;
  const worker = new Worker(code, { eval: true, workerData: { module: MODULE, calls } });
  return new Promise((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', (result: { answers: boolean[]; threadId: number }) => {
      const nice = threadNice(result.threadId);
      worker.postMessage('done');
      resolve({ answers: result.answers, nice });
    });
  });
}

/** A thread's nice value, field 19 of its stat line (after the parenthesised name). */
function threadNice(threadId: number): number {
  const stat = readFileSync(`/proc/self/task/${threadId}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}

// Per-thread nice values are a Linux property (the module does nothing elsewhere, by design); the
// suite's machines run Linux.
describe('lowerThreadPriority (Linux)', () => {
  it('lowers the calling thread alone', async () => {
    const before = os.getPriority();
    const { answers, nice } = await inWorker([7]);
    expect(answers).toEqual([true]);
    expect(nice).toBe(7);
    expect(threadNice(process.pid)).toBe(before);
    expect(os.getPriority()).toBe(before);
  });

  it('never raises a priority back, and takes 0 as "leave it"', async () => {
    const { answers, nice } = await inWorker([0, 9, 4, 9]);
    expect(answers).toEqual([false, true, false, false]);
    expect(nice).toBe(9);
  });
});
