// Puts a request's outcome on the wire: a normal JSON reply, or one of the broken answers that
// injected faults ask for (raw body, truncated body, cut connection).

import type { ServerResponse } from 'node:http';

import type { Reply } from './http.js';
import type { Wire } from './fault-outcome.js';

const JSON_TYPE = 'application/json';

export function send(res: ServerResponse, wire: Wire): void {
  switch (wire.kind) {
    case 'reply':
      writeReply(res, wire.reply);
      return;
    case 'text':
      res.writeHead(200, {
        'Content-Type': JSON_TYPE,
        'Content-Length': Buffer.byteLength(wire.text),
      });
      res.end(wire.text);
      return;
    case 'truncated':
      writeTruncated(res, wire.reply, wire.bytes);
      return;
    case 'close':
      res.socket?.destroy();
      return;
  }
}

function writeReply(res: ServerResponse, reply: Reply): void {
  // 204 (instance delete) carries no body at all.
  if (reply.body === undefined) {
    res.writeHead(reply.status, { ...reply.headers });
    res.end();
    return;
  }
  const json = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': JSON_TYPE,
    'Content-Length': Buffer.byteLength(json),
    ...reply.headers,
  });
  res.end(json);
}

/**
 * Promises the whole body, sends part of it, then closes the connection. The socket is ended
 * (not destroyed) first so the part already written reaches the client before the close.
 */
function writeTruncated(res: ServerResponse, reply: Reply, bytes: number): void {
  const body = Buffer.from(reply.body === undefined ? '' : JSON.stringify(reply.body));
  res.writeHead(reply.status, {
    ...(reply.body === undefined ? {} : { 'Content-Type': JSON_TYPE }),
    'Content-Length': body.length,
    ...reply.headers,
  });
  const part = body.subarray(0, bytes);
  if (part.length > 0) {
    res.write(part);
  } else {
    res.flushHeaders();
  }
  const { socket } = res;
  socket?.end(() => {
    socket.destroy();
  });
}
