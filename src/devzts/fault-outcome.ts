// What a request's injected fault does to it: whether it is handled at all (and with which
// issuance bend), and what goes on the wire instead of the normal answer. Kept apart from the
// socket writing (respond.ts) so every fault is one small, readable case.

import { STATUS_CODES } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

import { AUTH_CHALLENGE } from './http.js';
import type { Reply } from './http.js';
import { NO_ISSUANCE_FAULT, issuanceOf } from './issuance.js';
import type { Issuance } from './issuance.js';
import type { DevZtsFault } from './types.js';

/** What is sent. */
export type Wire =
  /** A JSON reply, written as usual. */
  | { kind: 'reply'; reply: Reply }
  /** 200 with exactly this text as the body. */
  | { kind: 'text'; text: string }
  /** The reply's headers with the full Content-Length, then `bytes` bytes, then the end. */
  | { kind: 'truncated'; reply: Reply; bytes: number }
  /** No answer: the connection is cut. */
  | { kind: 'close' };

export interface Outcome {
  /** The handler's answer, when the request was handled (credentials issued, note filled in). */
  handled: Reply | undefined;
  wire: Wire;
}

export type Handle = (issuance: Issuance) => Promise<Reply>;

/** Runs the request through its fault; `closed` cuts a pending delay when the server stops. */
export async function outcomeOf(
  fault: DevZtsFault | undefined,
  handle: Handle,
  closed: AbortSignal,
): Promise<Outcome> {
  switch (fault?.kind) {
    case 'status':
      return { handled: undefined, wire: { kind: 'reply', reply: statusReply(fault) } };
    case 'close':
      return { handled: undefined, wire: { kind: 'close' } };
    case 'delay':
      try {
        await sleep(fault.ms, undefined, { signal: closed });
      } catch {
        return { handled: undefined, wire: { kind: 'close' } };
      }
      return outcomeOf(fault.then, handle, closed);
    case 'body': {
      const reply = await handle(NO_ISSUANCE_FAULT);
      return { handled: reply, wire: bodyWire(fault.body, reply) };
    }
    case 'truncate': {
      const reply = await handle(NO_ISSUANCE_FAULT);
      return { handled: reply, wire: { kind: 'truncated', reply, bytes: fault.bytes } };
    }
    default: {
      // No fault, or one that only bends the times of what is issued.
      const reply = await handle(issuanceOf(fault));
      return { handled: reply, wire: { kind: 'reply', reply } };
    }
  }
}

/** The status logged for what was sent: 0 when no complete answer went out. */
export function wireStatus(wire: Wire): number {
  switch (wire.kind) {
    case 'reply':
      return wire.reply.status;
    case 'text':
      return 200;
    case 'truncated':
    case 'close':
      return 0;
  }
}

function statusReply(fault: { status: number; message?: string }): Reply {
  const { status } = fault;
  return {
    status,
    body: { code: status, message: fault.message ?? STATUS_CODES[status] ?? 'Unknown Status' },
    // ZTS challenges every 401, whatever produced it.
    ...(status === 401 ? { headers: { ...AUTH_CHALLENGE } } : {}),
  };
}

function bodyWire(body: string | ((normal: unknown) => string), reply: Reply): Wire {
  if (typeof body === 'string') {
    return { kind: 'text', text: body };
  }
  // A parsed copy, exactly what a client would have read, so the test's function cannot change
  // anything the server keeps.
  const normal: unknown =
    reply.body === undefined ? undefined : JSON.parse(JSON.stringify(reply.body));
  try {
    return { kind: 'text', text: body(normal) };
  } catch (error) {
    // A broken test callback should show up in the test, not as a silently dropped request.
    const message = `body fault function failed: ${error instanceof Error ? error.message : String(error)}`;
    return { kind: 'reply', reply: { status: 500, body: { code: 500, message } } };
  }
}
