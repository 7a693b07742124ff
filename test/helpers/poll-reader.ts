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
  return startReaderThread<ReaderReport>('./poll-reader.mjs', { path });
}

/** Runs a reader script on its own thread until stop() raises the shared flag. */
function startReaderThread<T>(script: string, data: object): { stop(): Promise<T> } {
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(new URL(script, import.meta.url), { workerData: { ...data, stop } });
  const report = new Promise<T>((resolve, reject) => {
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

export interface PairReport {
  pairs: number;
  /** Key and certificate read back to back whose public keys differ. */
  mismatches: number;
  /** Reads that failed outright (missing or unparsable file). */
  failures: number;
  /** Distinct certificates seen. */
  serials: number;
}

/** Starts a thread that loads key then certificate, as an app would, until stopped. */
export function startPairReader(
  keyFile: string,
  certFile: string,
): { stop(): Promise<PairReport> } {
  return startReaderThread<PairReport>('./pair-reader.mjs', { keyFile, certFile });
}
