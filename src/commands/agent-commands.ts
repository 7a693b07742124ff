// The agent's run modes as the CLI starts them: load the config, wire logger, agent and health
// server, handle signals, and turn the outcome into an exit code.

import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/types.js';
import { ConfigError, describeCause } from '../errors.js';
import { createLogger } from '../logger.js';
import type { Logger } from '../logger.js';
import { Agent } from '../agent/agent.js';
import { runOnce } from '../agent/once.js';
import { startHealthServer } from '../server/health-server.js';
import type { HealthServer } from '../server/health-server.js';
import { ConfigReloader } from '../agent/reloader.js';
import { parseDuration } from '../util/duration.js';
import { AGENT_VERSION } from '../version.js';

/** How long shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;
const MAX_ONCE_TIMEOUT_MS = 86_400_000;

export async function validateCommand(configPath: string): Promise<number> {
  try {
    const config = await loadConfig(configPath);
    process.stdout.write(
      `${config.source.path}: valid; ${config.credentials.length} credential(s):\n` +
        config.credentials.map((spec) => `  ${spec.name} -> ${spec.file}\n`).join(''),
    );
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.issues.map((issue) => `error: ${issue}`).join('\n')}\n`);
      return 2;
    }
    throw error;
  }
}

export async function runOnceCommand(configPath: string, timeoutText: string): Promise<number> {
  const logger = createLogger();
  const timeoutMs = parseDuration(timeoutText);
  if (timeoutMs === undefined || timeoutMs <= 0 || timeoutMs > MAX_ONCE_TIMEOUT_MS) {
    logger.fatal(
      { timeout: timeoutText },
      '--timeout must be a duration from 1ms to 1d, such as "60s"',
    );
    return 2;
  }
  const config = await loadOrReport(configPath, logger);
  if (config === undefined) {
    return 2;
  }
  const agent = new Agent(config, { logger });
  // SIGTERM/SIGINT end the round early but cleanly: requests are cancelled, writes finish.
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'stopping');
    stop.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    if (!(await prepareOrReport(agent, logger))) {
      return 1;
    }
    const result = await runOnce(agent, timeoutMs, logger, stop.signal);
    logger.info(
      result,
      result.failed.length === 0
        ? 'all credentials written'
        : 'some credentials could not be written',
    );
    return result.failed.length === 0 ? 0 : 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await agent.stop();
  }
}

export async function runAgent(configPath: string): Promise<number> {
  const logger = createLogger();
  // Signals that arrive while starting up still mean "stop cleanly", not "die".
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => {
      resolve('SIGTERM');
    });
    process.once('SIGINT', () => {
      resolve('SIGINT');
    });
  });
  const config = await loadOrReport(configPath, logger);
  if (config === undefined) {
    return 2;
  }

  // Start
  const agent = new Agent(config, { logger });
  if (!(await prepareOrReport(agent, logger))) {
    return 1;
  }
  let health: Awaited<ReturnType<typeof startHealth>>;
  try {
    health = await startHealth(config, agent, logger);
  } catch (error) {
    logger.fatal(
      { err: error, listen: `${config.health.host}:${config.health.port}` },
      `cannot serve the probes on health.listen: ${describeCause(error)}`,
    );
    return 1;
  }
  const reloader = new ConfigReloader({
    agent,
    logger: logger.child({ module: 'reload' }),
    onApplied: async (next) => {
      logger.level = next.log.level;
      if (JSON.stringify(next.health) !== health.settings) {
        health = await moveHealth(health, next, agent, logger);
      }
    },
  });
  agent.start();
  reloader.start();
  const onHangup = (): void => {
    logger.debug('SIGHUP: checking the config');
    reloader.trigger('SIGHUP');
  };
  process.on('SIGHUP', onHangup);

  // Wait for a signal
  const signal = await stopSignal;

  // Stop: reloads, then refreshers (writes in flight finish), then the probe server
  logger.info({ signal }, 'stopping');
  const forced = setTimeout(() => {
    logger.error({ graceMs: SHUTDOWN_GRACE_MS }, 'shutdown took too long; exiting');
    process.exit(1);
  }, SHUTDOWN_GRACE_MS);
  forced.unref();
  process.off('SIGHUP', onHangup);
  await reloader.close();
  await agent.stop();
  await health.close();
  clearTimeout(forced);
  logger.info('stopped');
  return 0;
}

/**
 * Moves the probe server to new settings without ever leaving the agent unprobed: the new one
 * starts first; when that fails only because the old one holds the port, the old one is closed
 * and the new one tried again; if the new one still cannot start, the old settings are restored.
 */
async function moveHealth(
  current: Awaited<ReturnType<typeof startHealth>>,
  next: ResolvedConfig,
  agent: Agent,
  logger: Logger,
): Promise<Awaited<ReturnType<typeof startHealth>>> {
  try {
    const moved = await startHealth(next, agent, logger);
    await current.close();
    return moved;
  } catch (first) {
    if (
      (first as NodeJS.ErrnoException).code !== 'EADDRINUSE' ||
      next.health.port !== current.port
    ) {
      logger.error(
        { err: first },
        'cannot serve the probes on the new health.listen; keeping the old one',
      );
      return current;
    }
  }
  await current.close();
  try {
    return await startHealth(next, agent, logger);
  } catch (error) {
    logger.error(
      { err: error },
      'cannot serve the probes on the new health.listen; back on the old one',
    );
    return startHealth(current.config, agent, logger);
  }
}

async function startHealth(
  config: ResolvedConfig,
  agent: Agent,
  logger: Logger,
): Promise<HealthServer & { settings: string; config: ResolvedConfig }> {
  const server = await startHealthServer({
    host: config.health.host,
    port: config.health.port,
    board: agent.board,
    stuckAfterMs: config.health.stuckAfterMs,
    logger: logger.child({ module: 'health' }),
  });
  return Object.assign(server, { settings: JSON.stringify(config.health), config });
}

async function prepareOrReport(agent: Agent, logger: Logger): Promise<boolean> {
  try {
    await agent.prepare();
    return true;
  } catch (error) {
    logger.fatal(
      { err: error, dir: agent.config.output.dir },
      `cannot use output.dir: ${describeCause(error)}`,
    );
    return false;
  }
}

async function loadOrReport(
  configPath: string,
  logger: Logger,
): Promise<ResolvedConfig | undefined> {
  try {
    const config = await loadConfig(configPath);
    logger.level = config.log.level;
    logger.info(
      {
        config: config.source.path,
        sha256: config.source.sha256.slice(0, 12),
        version: AGENT_VERSION,
      },
      'config loaded',
    );
    if (config.credentials.length === 0) {
      logger.warn('the config lists no credentials; the agent has nothing to do');
    }
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal(
        { code: error.code, issues: error.issues, config: configPath },
        `invalid config: ${error.issues[0] ?? error.message}${error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : ''}`,
      );
      return undefined;
    }
    throw error;
  }
}
