// Test scaffolding around the dev ZTS: a temp folder, a started server, undici agents that present
// a principal's identity (or none), and a JSON request helper. cleanup() undoes all of it.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  zts: DevZts;
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
  let zts: DevZts;
  try {
    zts = await startDevZts({ ...options, stateDir, policy });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const track = (agent: Agent): Agent => {
    agents.push(agent);
    return agent;
  };
  return {
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
      await zts.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
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
