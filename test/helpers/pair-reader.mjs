// A reader that loads a key and a certificate the way an app does (key first, a random pause of
// 0-20 ms, then the certificate) and counts pairs whose public keys differ.
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const { keyFile, certFile, stop } = workerData;
const flag = new Int32Array(stop);
const pause = new Int32Array(new SharedArrayBuffer(4));
let pairs = 0;
let mismatches = 0;
let failures = 0;
const serials = new Set();

while (Atomics.load(flag, 0) === 0) {
  try {
    const key = createPublicKey(createPrivateKey(readFileSync(keyFile)));
    Atomics.wait(pause, 0, 0, Math.floor(Math.random() * 21));
    const cert = new X509Certificate(readFileSync(certFile));
    pairs += 1;
    serials.add(cert.serialNumber);
    const a = key.export({ type: 'spki', format: 'der' });
    const b = cert.publicKey.export({ type: 'spki', format: 'der' });
    if (!a.equals(b)) {
      mismatches += 1;
    }
  } catch {
    failures += 1;
  }
}
parentPort.postMessage({ pairs, mismatches, failures, serials: serials.size });
