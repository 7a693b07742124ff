// The TCP front of the dev ZTS. A plain net.Server owns the port and hands each accepted socket to
// the HTTPS server, unless handshakes are being stalled: then the socket is kept open, its
// ClientHello read and dropped, so the client's TLS handshake hangs the way it does against an
// overloaded server. node:https cannot do that itself: its TLS wrapper takes every socket the
// moment it is accepted. Every socket is tracked so close() really closes.

import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { Server as HttpsServer } from 'node:https';

export class FrontListener {
  private readonly https: HttpsServer;
  private readonly front: Server;
  private readonly sockets = new Set<Socket>();
  private stalling = false;
  private closing: Promise<void> | undefined;

  constructor(https: HttpsServer) {
    this.https = https;
    this.front = createServer((socket) => {
      this.accept(socket);
    });
  }

  /** TCP connections open right now, stalled ones included. */
  get openConnections(): number {
    return this.sockets.size;
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.front.once('error', reject);
      this.front.listen(port, host, () => {
        this.front.off('error', reject);
        resolve();
      });
    });
    // node:http starts its headers/request timeout checks on 'listening', which the HTTPS server
    // never sees itself because the front owns the port.
    this.https.emit('listening');
    const address = this.front.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  stallHandshakes(on: boolean): void {
    this.stalling = on;
  }

  /** Stops listening and cuts every socket (keep-alive, half-open, stalled); waits for all of it. */
  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (!this.stalling) {
      this.https.emit('connection', socket);
      return;
    }
    // Nobody else listens on a stalled socket, so a client reset must not become an uncaught error.
    socket.on('error', () => undefined);
    socket.resume();
  }

  private async closeAll(): Promise<void> {
    const listenerClosed = new Promise<void>((resolve) => {
      this.front.close(() => {
        resolve();
      });
    });
    // Clears node:http's timeout checks; the HTTPS server holds no port, so nothing else to close.
    this.https.close();
    const socketsClosed = [...this.sockets].map(
      (socket) =>
        new Promise<void>((resolve) => {
          socket.once('close', () => {
            resolve();
          });
          socket.destroy();
        }),
    );
    await Promise.all([listenerClosed, ...socketsClosed]);
  }
}
