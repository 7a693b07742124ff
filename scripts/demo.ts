// `npm run demo`: starts the local ZTS and the agent with config/demo.yaml, shows their logs in
// short form, and every 30 s lists the token files so you can watch them being refreshed.
// Stop with Ctrl-C; `npm run demo -- --for 90s` stops by itself.

import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

import { parseDuration } from '../src/util/duration.js';

const root = resolve(import.meta.dirname, '..');
const outputDir = join(root, '.demo', 'out');
const cli = join(root, 'dist', 'cli.js');
const readyUrl = 'http://127.0.0.1:18081/readyz';

const { values } = parseArgs({ options: { for: { type: 'string' } } });
const runFor = values.for === undefined ? undefined : parseDuration(values.for);

const zts = start('dev-zts', [
  'dev-zts',
  '--state',
  join(root, '.demo', 'zts'),
  '--policy',
  join(root, 'config', 'dev-zts-policy.yaml'),
  '--listen',
  '127.0.0.1:14443',
]);
await waitForLine(zts, 'dev ZTS listening');
const agent = start('agent', ['run', '--config', join(root, 'config', 'demo.yaml')]);

process.stdout.write(`\nTokens are written to ${outputDir}\nReadiness: curl ${readyUrl}\n\n`);
const lister = setInterval(() => void listFiles(), 30_000);
setTimeout(() => void listFiles(), 3000);

const stop = async (): Promise<void> => {
  clearInterval(lister);
  agent.kill('SIGTERM');
  await exited(agent);
  zts.kill('SIGTERM');
  await exited(zts);
  process.exit(agent.exitCode ?? 0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
if (runFor !== undefined) {
  setTimeout(() => void stop(), runFor);
}
agent.once('exit', (code) => {
  if (code !== 0) {
    process.stderr.write(`agent exited with ${code}\n`);
    zts.kill('SIGTERM');
    process.exit(code ?? 1);
  }
});

function start(name: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: child.stdout }).on('line', (line) => {
    process.stdout.write(`${name.padEnd(7)} ${shorten(line)}\n`);
    child.emit('line', line);
  });
  return child;
}

/** One pino JSON line → `time level message key=value…`, keeping the fields worth reading. */
function shorten(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, ...rest } = entry;
  delete rest.pid;
  delete rest.module;
  const levels: Record<number, string> = {
    20: 'debug',
    30: 'info',
    40: 'WARN',
    50: 'ERROR',
    60: 'FATAL',
  };
  const clock = typeof time === 'string' ? time.slice(11, 19) : '';
  const fields = Object.entries(rest)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${clock} ${levels[Number(level)] ?? String(level)} ${String(msg)} ${fields}`;
}

async function listFiles(): Promise<void> {
  const names = (await readdir(outputDir).catch(() => [])).filter((name) => !name.startsWith('.'));
  const rows = await Promise.all(
    names.sort().map(async (name) => {
      const path = join(outputDir, name);
      const info = await stat(path);
      const text = await readFile(path, 'utf8');
      return `  ${name.padEnd(40)} ${String(info.size).padStart(5)} bytes  mode ${(info.mode & 0o777).toString(8)}  written ${info.mtime.toISOString().slice(11, 19)}  ${expiry(name, text)}`;
    }),
  );
  process.stdout.write(`\n${outputDir}:\n${rows.join('\n')}\n\n`);
}

function expiry(name: string, text: string): string {
  try {
    if (name.endsWith('.key.pem')) {
      return '';
    }
    if (name.endsWith('.pem')) {
      const cert = new X509Certificate(text);
      return `expires ${new Date(cert.validTo).toISOString().slice(11, 19)}  serial ${cert.serialNumber.slice(0, 8)}`;
    }
    if (name.endsWith('.roletoken')) {
      const seconds = Number(/;e=(\d+);/.exec(text)?.[1]);
      return `expires ${new Date(seconds * 1000).toISOString().slice(11, 19)}`;
    }
    const jwt = text.startsWith('{')
      ? (JSON.parse(text) as { access_token: string }).access_token
      : text;
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as {
      exp: number;
      scp: string[];
    };
    return `expires ${new Date(claims.exp * 1000).toISOString().slice(11, 19)}  roles ${claims.scp.join(',')}`;
  } catch {
    return '';
  }
}

function waitForLine(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolveWait, reject) => {
    const onLine = (line: string): void => {
      if (line.includes(text)) {
        child.off('line', onLine);
        resolveWait();
      }
    };
    child.on('line', onLine);
    child.once('exit', (code) => {
      reject(new Error(`${text} never came; exit code ${code}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode === null
    ? new Promise((done) => {
        child.once('exit', () => {
          done();
        });
      })
    : Promise.resolve();
}
