/**
 * A local HTTP server that replaces every destination outside 127.0.0.1
 * during the gs:// tests. It acts as the GCE metadata server (through
 * GCE_METADATA_HOST) and, as the HTTP(S) proxy, as Google's OAuth and
 * storage endpoints. It records each request and rejects it, so that a test
 * can assert that the Cloud Storage client tried to reach nothing else.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EgressTrap {
  /** 127.0.0.1:PORT */
  address: string;
  /** Requests received so far, as "METHOD host/path" or "CONNECT host:port". */
  requests(): string[];
  /**
   * Environment that routes the metadata server and every proxied request to
   * the trap, while requests to 127.0.0.1 and localhost go direct.
   */
  env(): Record<string, string>;
  close(): Promise<void>;
}

/** Starts the trap on a free port of 127.0.0.1. */
export async function startEgressTrap(): Promise<EgressTrap> {
  const received: string[] = [];
  const server = http.createServer((request, response) => {
    received.push(`${request.method} ${request.headers.host ?? ''}${request.url ?? ''}`);
    request.resume();
    // To the client, a 404 without the Metadata-Flavor header means that no metadata server is here.
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('egress trap: no destination outside 127.0.0.1 is reachable in tests\n');
  });
  // The client's proxy agent passes a rejected CONNECT's response to the
  // request as its own. So the trap responds as Google's endpoints do to a
  // request without valid credentials, with 401 and a JSON API error body.
  server.on('connect', (request, socket) => {
    received.push(`CONNECT ${request.url ?? ''}`);
    const body = JSON.stringify({
      error: { code: 401, message: 'egress trap: no destination outside 127.0.0.1 is reachable in tests', errors: [{ reason: 'required' }] },
    });
    socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const proxy = `http://${address}`;

  return {
    address,
    requests: () => [...received],
    env: () => ({
      GCE_METADATA_HOST: address,
      GCE_METADATA_IP: address,
      HTTP_PROXY: proxy,
      HTTPS_PROXY: proxy,
      http_proxy: proxy,
      https_proxy: proxy,
      NO_PROXY: '127.0.0.1,localhost',
      no_proxy: '127.0.0.1,localhost',
    }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sets each variable in process.env and returns a function that restores the previous values. */
export function overrideProcessEnv(values: Record<string, string | undefined>): () => void {
  const previous = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(values)) {
    previous.set(name, process.env[name]);
    if (value === undefined) {
      delete process.env[name];
    } else {
      process.env[name] = value;
    }
  }
  return () => {
    for (const [name, value] of previous) {
      if (value === undefined) {
        delete process.env[name];
      } else {
        process.env[name] = value;
      }
    }
  };
}
