// Runs the built CLI (dist/cli.js) as a real child process, as kubelet would.
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

export interface CliProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  stdout: string[];
  stderr: string[];
  /** Parsed JSON log lines from stdout. */
  logs(): Array<Record<string, unknown>>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    stdout.push(...lines);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      if (pending !== '') {
        stdout.push(pending);
      }
      resolve({ code, signal });
    });
  });
  return {
    child,
    stdout,
    stderr,
    exit,
    logs: () =>
      stdout.flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
  };
}

export async function runCli(
  args: string[],
  { timeoutMs = 20_000, env = {} }: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CliProcess & { code: number | null }> {
  const process = spawnCli(args, env);
  const timer = setTimeout(() => process.child.kill('SIGKILL'), timeoutMs);
  const { code } = await process.exit;
  clearTimeout(timer);
  return { ...process, code };
}
