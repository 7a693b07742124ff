// A reader that races the agent: reads one file every millisecond on its own thread, as an app
// would, and reports every distinct content it saw plus any missing or empty read.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { path, stop } = workerData;
const flag = new Int32Array(stop);
const pause = new Int32Array(new SharedArrayBuffer(4));
const seen = new Set();
let reads = 0;
let missing = 0;
let empty = 0;

while (Atomics.load(flag, 0) === 0) {
  try {
    const text = readFileSync(path, 'utf8');
    reads += 1;
    if (text.length === 0) {
      empty += 1;
    } else {
      seen.add(text);
    }
  } catch (error) {
    if (error.code === 'ENOENT') {
      missing += 1;
    } else {
      throw error;
    }
  }
  Atomics.wait(pause, 0, 0, 1);
}
parentPort.postMessage({ reads, missing, empty, seen: [...seen] });
