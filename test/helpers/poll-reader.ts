// Starts the polling reader thread on a file and stops it on demand.
import { Worker } from 'node:worker_threads';

export interface ReaderReport {
  reads: number;
  /** Reads that found no file at all (after the first successful read). */
  missing: number;
  empty: number;
  seen: string[];
}

export function startPollReader(path: string): { stop(): Promise<ReaderReport> } {
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(new URL('./poll-reader.mjs', import.meta.url), {
    workerData: { path, stop },
  });
  const report = new Promise<ReaderReport>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    stop: async () => {
      Atomics.store(new Int32Array(stop), 0, 1);
      const result = await report;
      await worker.terminate();
      return result;
    },
  };
}
