// The probe server: GET /healthz (liveness) and GET /readyz (readiness), JSON bodies.
// Liveness says the agent works: it stays 200 through a ZTS outage, so kubelet never restarts a
// healthy sidecar for ZTS's sake. Readiness says every configured credential is on disk and
// unexpired, and names what is missing, failing or stale when it is not.

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Logger } from '../logger.js';
import type { StatusBoard } from '../state/status-board.js';

export interface HealthServerOptions {
  host: string;
  port: number;
  board: StatusBoard;
  stuckAfterMs: number;
  logger: Logger;
}

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const server = createServer((request, response) => {
    handle(request, response, options).catch((error: unknown) => {
      options.logger.error({ err: error }, 'health request failed');
      if (!response.headersSent) {
        reply(response, 500, { status: 'error' });
      }
    });
  });
  // Probes come every few seconds; do not hold idle sockets for long.
  server.keepAliveTimeout = 5_000;
  await listen(server, options.host, options.port);
  const { port } = server.address() as AddressInfo;
  options.logger.info({ host: options.host, port }, 'health server listening');

  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

async function handle(
  request: IncomingMessage,
  response: ServerResponse,
  options: HealthServerOptions,
): Promise<void> {
  const path = (request.url ?? '/').split('?')[0];
  if (path !== '/healthz' && path !== '/readyz') {
    reply(response, 404, { status: 'not found' });
    return;
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    reply(response, 405, { status: 'method not allowed' });
    return;
  }

  const now = Date.now();
  if (path === '/healthz') {
    const stuck = options.board.stuck(now, options.stuckAfterMs);
    reply(response, stuck.length === 0 ? 200 : 503, {
      status: stuck.length === 0 ? 'ok' : 'stuck',
      ...(stuck.length === 0 ? {} : { stuck }),
    });
    return;
  }
  const readiness = await options.board.readiness(now);
  reply(response, readiness.ready ? 200 : 503, readiness);
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : text);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
