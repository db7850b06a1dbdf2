/**
 * An HTTP proxy for fault tests in front of a local storage server. It
 * forwards each request unless `decide` marks it `hold` (no response, as on
 * a network that stalls mid-upload) or `fail` (a 503 response, a transient
 * error that clients retry). The Host header is forwarded unchanged, so
 * request signatures stay valid and upload locations point back at the proxy.
 */
import * as http from 'node:http';

export type ProxyAction = 'forward' | 'hold' | 'fail';

export interface FaultProxyOptions {
  /** Picks the action for each request from its method and URL (decoded when decodeUrl is set). */
  decide: (method: string, url: string) => ProxyAction;
  /** Body and content type of the 503 response, in the storage API's error format. */
  failure: { contentType: string; body: string };
  /** Pass decoded URLs to decide. Default false. */
  decodeUrl?: boolean;
}

export interface FaultProxy {
  endpoint: string;
  /** Resolves with the URL of the first stalled request. */
  held: Promise<string>;
  /** Number of requests that got 503 so far. */
  failed: () => number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string, options: FaultProxyOptions): Promise<FaultProxy> {
  const upstream = new URL(target);
  let onHeld: (url: string) => void = () => undefined;
  const held = new Promise<string>((resolve) => (onHeld = resolve));
  let failed = 0;
  const server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    const shown = options.decodeUrl ? decodeURIComponent(url) : url;
    const action = options.decide(request.method ?? 'GET', shown);
    if (action === 'hold') {
      onHeld(shown);
      return;
    }
    if (action === 'fail') {
      failed++;
      request.resume();
      response.writeHead(503, { 'content-type': options.failure.contentType });
      response.end(options.failure.body);
      return;
    }
    const forwarded = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: url, headers: request.headers },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
      },
    );
    forwarded.on('error', () => response.destroy());
    request.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    held,
    failed: () => failed,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
