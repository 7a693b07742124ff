// `once` mode, for init containers: fetch and write every credential, retrying what may clear up
// within a bounded time, and report which ones could not be written.

import pRetry from 'p-retry';

import { AgentError, isRetryable } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Agent } from './agent.js';

export interface OnceResult {
  written: string[];
  /** Already on disk, valid and not yet due for refresh. */
  adopted: string[];
  failed: string[];
}

/**
 * Runs one round. Refusals (403 and the like) fail at once: waiting will not help an init
 * container. Retryable faults are retried with backoff until `timeoutMs` has passed.
 */
export async function runOnce(
  agent: Agent,
  timeoutMs: number,
  logger: Logger,
  stop?: AbortSignal,
): Promise<OnceResult> {
  // Ends at the timeout or on a stop signal; writes already under way still finish.
  const timeout = AbortSignal.timeout(timeoutMs);
  const deadline = stop === undefined ? timeout : AbortSignal.any([timeout, stop]);
  const { backoff } = agent.config.refresh;
  const result: OnceResult = { written: [], adopted: [], failed: [] };

  await Promise.all(
    agent.refreshers.map(async (refresher) => {
      const status = agent.board.get(refresher.spec.id);
      const adopted = await refresher.adoptIfFresh();
      if (adopted !== undefined) {
        status?.succeeded(Date.now(), adopted.expiresAt, undefined);
        result.adopted.push(refresher.spec.name);
        logger.info(
          { credential: refresher.spec.name, expiresAt: new Date(adopted.expiresAt).toISOString() },
          'credential on disk is still good; not fetching it',
        );
        return;
      }
      try {
        const issued = await pRetry(() => refresher.attempt(deadline), {
          retries: Number.POSITIVE_INFINITY,
          maxRetryTime: timeoutMs,
          minTimeout: backoff.initialMs,
          maxTimeout: backoff.maxMs,
          randomize: true,
          signal: deadline,
          shouldRetry: ({ error }) => isRetryable(error),
          onFailedAttempt: ({ error, attemptNumber }) => {
            status?.failed(Date.now(), error, undefined);
            logger.warn(
              {
                credential: refresher.spec.name,
                code: error instanceof AgentError ? error.code : 'INTERNAL',
                status: (error as { status?: number }).status,
                attempt: attemptNumber,
                willRetry: isRetryable(error),
              },
              error.message,
            );
          },
        });
        status?.succeeded(Date.now(), issued.expiresAt, undefined);
        result.written.push(refresher.spec.name);
      } catch (error) {
        result.failed.push(refresher.spec.name);
        // When time ran out, the reason worth reporting is the last attempt's, not the timeout.
        const last = status?.lastError;
        logger.error(
          {
            credential: refresher.spec.name,
            code: last?.code ?? (error instanceof AgentError ? error.code : 'INTERNAL'),
            status: last?.status,
            timedOut: timeout.aborted,
            stopped: stop?.aborted ?? false,
          },
          `credential could not be written: ${last?.message ?? (error instanceof Error ? error.message : String(error))}`,
        );
      }
    }),
  );
  return result;
}
