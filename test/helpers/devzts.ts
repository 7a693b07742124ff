// Test scaffolding around the dev ZTS: a temp folder, a started server that can be stopped and
// restarted on the same port, undici agents that present a principal's identity (or none), and a
// JSON request helper. cleanup() undoes all of it.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';

import { startDevZts } from '../../src/devzts/index.js';
import type {
  DevZts,
  DevZtsIdentityFiles,
  DevZtsOptions,
  DevZtsPolicy,
} from '../../src/devzts/index.js';

/** The principal most tests act as; it has an identity in the default policy. */
export const TEST_PRINCIPAL = 'demo.agent';

/**
 * Two services and two domains, no lifetime caps (ZTS defaults apply):
 * sports: reader [demo.agent], writer [demo.agent, other.svc], admin [other.svc];
 * weather: viewer [demo.agent].
 */
export function defaultTestPolicy(): DevZtsPolicy {
  return {
    services: ['demo.agent', 'other.svc'],
    domains: {
      sports: {
        roles: {
          reader: { members: ['demo.agent'] },
          writer: { members: ['demo.agent', 'other.svc'] },
          admin: { members: ['other.svc'] },
        },
      },
      weather: { roles: { viewer: { members: ['demo.agent'] } } },
    },
  };
}

export interface DevZtsFixture {
  /**
   * The running dev ZTS. A stable handle that always forwards to the current server, so it (and
   * any copy of it) follows stopDevZts/restartDevZts; `requests`, `handshakes`, `faults` and the
   * other live views belong to the current server only.
   */
  readonly zts: DevZts;
  /** Temp folder owned by the fixture; the dev ZTS state lives in `stateDir` inside it. */
  dir: string;
  stateDir: string;
  /** An mTLS agent for a policy service (default demo.agent) or for explicit identity files. */
  agent(identity?: string | DevZtsIdentityFiles): Promise<Agent>;
  /** An agent that trusts the dev CA but presents no client cert. */
  anonymousAgent(): Promise<Agent>;
  /** An mTLS agent presenting a cert and key given as PEM text (e.g. a cert the dev ZTS issued). */
  pemAgent(certPem: string, keyPem: string): Promise<Agent>;
  /** Closes the agents, stops the dev ZTS and removes the temp folder. */
  cleanup(): Promise<void>;
}

export async function withDevZts(
  policy: DevZtsPolicy = defaultTestPolicy(),
  options: Partial<Omit<DevZtsOptions, 'policy'>> = {},
): Promise<DevZtsFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'devzts-'));
  const stateDir = options.stateDir ?? join(dir, 'state');
  const agents: Agent[] = [];
  let lifecycle: Lifecycle;
  try {
    lifecycle = new Lifecycle(await startDevZts({ ...options, stateDir, policy }), {
      ...options,
      stateDir,
      policy,
    });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const zts = lifecycle.handle;

  const track = (agent: Agent): Agent => {
    agents.push(agent);
    return agent;
  };
  const fixture: DevZtsFixture = {
    zts,
    dir,
    stateDir,
    agent: async (identity = TEST_PRINCIPAL) => {
      const files = typeof identity === 'string' ? zts.clientIdentity(identity) : identity;
      return track(await mtlsAgent(zts.caFile, files));
    },
    anonymousAgent: async () => track(await mtlsAgent(zts.caFile)),
    pemAgent: async (cert, key) =>
      track(new Agent({ connect: { ca: await readFile(zts.caFile, 'utf8'), cert, key } })),
    cleanup: async () => {
      await Promise.all(agents.map((agent) => agent.destroy()));
      await lifecycle.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  lifecycles.set(fixture, lifecycle);
  return fixture;
}

/**
 * Stops the fixture's dev ZTS: the port stops listening (connection refused) and every open
 * connection is cut. Same as `fx.zts.close()`.
 */
export function stopDevZts(fx: DevZtsFixture): Promise<void> {
  return lifecycleOf(fx).stop();
}

/**
 * Brings the fixture's dev ZTS back on the same port, stopping it first if it is running. The new
 * server keeps everything a real ZTS keeps across a restart: the state folder (CA, server cert,
 * client identities, signing key), the latest policy set through `fx.zts.setPolicy` and the
 * registered instances. It starts with an empty request log, zero handshake counts and no faults.
 */
export function restartDevZts(fx: DevZtsFixture): Promise<void> {
  return lifecycleOf(fx).restart();
}

const lifecycles = new WeakMap<DevZtsFixture, Lifecycle>();

function lifecycleOf(fx: DevZtsFixture): Lifecycle {
  const lifecycle = lifecycles.get(fx);
  if (lifecycle === undefined) {
    throw new Error('not a fixture made by withDevZts');
  }
  return lifecycle;
}

/** How long a restart keeps retrying while the kernel still holds the port. */
const PORT_RETRY_MS = 5_000;
const PORT_RETRY_STEP_MS = 50;

/** The fixture's current dev ZTS, how it was started, and the handle that follows restarts. */
class Lifecycle {
  readonly handle: DevZts;
  private current: DevZts;
  private running = true;
  private options: DevZtsOptions;

  constructor(zts: DevZts, options: DevZtsOptions) {
    this.current = zts;
    this.options = options;
    this.handle = this.followingHandle();
  }

  stop(): Promise<void> {
    this.running = false;
    return this.current.close();
  }

  async restart(): Promise<void> {
    if (this.running) {
      await this.stop();
    }
    const previous = this.current;
    this.current = await startOnPort({
      ...this.options,
      port: previous.port,
      resumeFrom: previous,
    });
    this.running = true;
  }

  /** Forwards every member to the current server, so copies of fx.zts never go stale. */
  private followingHandle(): DevZts {
    const current = (): DevZts => this.current;
    const remember = (policy: DevZtsPolicy): void => {
      this.options = { ...this.options, policy };
    };
    return {
      get url() {
        return current().url;
      },
      get port() {
        return current().port;
      },
      get caFile() {
        return current().caFile;
      },
      get jwksUrl() {
        return current().jwksUrl;
      },
      clientIdentity: (principal) => current().clientIdentity(principal),
      issueClientIdentity: (principal, opts) => current().issueClientIdentity(principal, opts),
      get requests() {
        return current().requests;
      },
      get handshakes() {
        return current().handshakes;
      },
      get handshakesBySerial() {
        return current().handshakesBySerial;
      },
      get openConnections() {
        return current().openConnections;
      },
      get faults() {
        return current().faults;
      },
      setPolicy: (policy) => {
        current().setPolicy(policy);
        // Only once the server accepted it: a restart must not fail on a refused policy.
        remember(policy);
      },
      close: () => this.stop(),
    };
  }
}

/** Starts on a fixed port, retrying briefly while the old listener's port is not yet free. */
async function startOnPort(options: DevZtsOptions): Promise<DevZts> {
  const deadline = Date.now() + PORT_RETRY_MS;
  for (;;) {
    try {
      return await startDevZts(options);
    } catch (error) {
      const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!inUse || Date.now() >= deadline) {
        throw error;
      }
      await sleep(PORT_RETRY_STEP_MS);
    }
  }
}

/** An undici Agent trusting `caFile` and, when given, presenting the identity files. */
export async function mtlsAgent(caFile: string, identity?: DevZtsIdentityFiles): Promise<Agent> {
  const ca = await readFile(caFile, 'utf8');
  if (identity === undefined) {
    return new Agent({ connect: { ca } });
  }
  const [cert, key] = await Promise.all([
    readFile(identity.certFile, 'utf8'),
    readFile(identity.keyFile, 'utf8'),
  ]);
  return new Agent({ connect: { ca, cert, key } });
}

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: unknown;
}

/** Sends a request and parses the JSON answer (every dev ZTS answer is JSON). */
export async function callZts(
  dispatcher: Dispatcher,
  url: string,
  init: { method?: Dispatcher.HttpMethod; body?: string; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const response = await request(url, {
    dispatcher,
    method: init.method ?? 'GET',
    ...(init.body === undefined ? {} : { body: init.body }),
    ...(init.headers === undefined ? {} : { headers: init.headers }),
  });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    json: text === '' ? undefined : (JSON.parse(text) as unknown),
  };
}

/** POSTs a JSON body (the cert and instance APIs) with the right Content-Type. */
export function postJson(
  dispatcher: Dispatcher,
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  return callZts(dispatcher, url, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** POSTs an access token form body with the right Content-Type. */
export function postTokenForm(
  dispatcher: Dispatcher,
  zts: DevZts,
  body: string,
  headers: Record<string, string> = {},
): Promise<JsonResponse> {
  return callZts(dispatcher, `${zts.url}/oauth2/token`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}
