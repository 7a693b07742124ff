// `dev-zts`: runs the local ZTS in the foreground until SIGTERM/SIGINT, and says where its CA
// and client identities are so an agent config can point at them.

import { resolve } from 'node:path';

import { parseListen } from '../config/schema.js';
import { loadDevZtsPolicy, startDevZts } from '../devzts/index.js';
import { createLogger } from '../logger.js';

export interface DevZtsCommandOptions {
  stateDir: string;
  policyFile: string;
  listen: string;
}

export async function runDevZtsCommand(options: DevZtsCommandOptions): Promise<number> {
  const logger = createLogger('info').child({ module: 'dev-zts' });
  const listen = parseListen(options.listen);
  if (listen === undefined) {
    logger.fatal({ listen: options.listen }, '--listen must be "host:port"');
    return 2;
  }
  // It hands out tokens and certificates to whoever asks: loopback only.
  if (!['127.0.0.1', '::1', 'localhost'].includes(listen.host)) {
    logger.fatal(
      { listen: options.listen },
      '--listen must be a loopback address (127.0.0.1, ::1 or localhost)',
    );
    return 2;
  }
  let policy;
  try {
    policy = await loadDevZtsPolicy(resolve(options.policyFile));
  } catch (error) {
    logger.fatal({ err: error, policy: options.policyFile }, 'cannot load the dev ZTS policy');
    return 2;
  }

  const zts = await startDevZts({
    stateDir: resolve(options.stateDir),
    policy,
    host: listen.host,
    port: listen.port,
    logger,
  });
  logger.info(
    {
      url: zts.url,
      caFile: zts.caFile,
      identities: Object.fromEntries(
        policy.services.map((principal) => [principal, zts.clientIdentity(principal)]),
      ),
    },
    'dev ZTS listening',
  );

  await new Promise<void>((done) => {
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  await zts.close();
  logger.info('dev ZTS stopped');
  return 0;
}
