#!/usr/bin/env node
// Command line: argument parsing, run modes and exit codes.
//   run       (default) refresh until SIGTERM/SIGINT, then finish writes in flight and exit 0
//   once      fetch and write everything, exit 0 when all were written, 1 otherwise
//   validate  check a config file and exit: 0 valid, 2 invalid
//   dev-zts   serve the local ZTS used by the demo and the tests
// Exit codes: 0 success, 1 runtime failure, 2 invalid usage or config.

import { parseArgs } from 'node:util';

import { runAgent, runOnceCommand, validateCommand } from './commands/agent-commands.js';
import { runDevZtsCommand } from './commands/dev-zts-command.js';
import { AGENT_VERSION } from './version.js';

const AGENT_NAME = 'athenz-agent';

const USAGE = `Usage: ${AGENT_NAME} [run|once|validate] [--config FILE] [--timeout DURATION]
       ${AGENT_NAME} dev-zts [--state DIR] [--policy FILE] [--listen HOST:PORT]

  --config FILE     agent config (default: $ATHENZ_AGENT_CONFIG or /etc/athenz-agent/config.yaml)
  --timeout D       once: give up on retryable failures after D (default 60s)
  --state DIR       dev-zts: state folder for its CA, keys and certificates (default .dev-zts)
  --policy FILE     dev-zts: policy YAML (default config/dev-zts-policy.yaml)
  --listen H:P      dev-zts: address to listen on (default 127.0.0.1:4443)
  --version, --help`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string' },
        timeout: { type: 'string' },
        state: { type: 'string' },
        policy: { type: 'string' },
        listen: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return 0;
  }

  const command = positionals[0] ?? 'run';
  if (positionals.length > 1) {
    process.stderr.write(`unexpected argument ${JSON.stringify(positionals[1])}\n\n${USAGE}\n`);
    return 2;
  }
  const configPath =
    values.config ?? process.env.ATHENZ_AGENT_CONFIG ?? '/etc/athenz-agent/config.yaml';

  switch (command) {
    case 'run':
      return runAgent(configPath);
    case 'once':
      return runOnceCommand(configPath, values.timeout ?? '60s');
    case 'validate':
      return validateCommand(configPath);
    case 'dev-zts':
      return runDevZtsCommand({
        stateDir: values.state ?? '.dev-zts',
        policyFile: values.policy ?? 'config/dev-zts-policy.yaml',
        listen: values.listen ?? '127.0.0.1:4443',
      });
    default:
      process.stderr.write(`unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
