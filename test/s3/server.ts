/**
 * Runs versitygw, an S3-compatible gateway over a local folder, for tests.
 * scripts/setup-s3.sh builds the binary; findS3ServerBinary() finds it.
 * The server listens on 127.0.0.1 only and can be stopped, killed and
 * restarted on the same port and folder, for fault tests.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

import { findCachedBinary, startServerProcess } from '../support/server-process';

export interface S3ServerOptions {
  /** Path of the versitygw binary. Default: findS3ServerBinary(). */
  binary?: string;
  /** Folder the gateway serves (one sub-folder per bucket). Default: a new temporary folder. */
  dataDir?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  /** Milliseconds to wait for the server to respond after each start. Default 15000. */
  startTimeoutMs?: number;
}

export interface S3TestServer {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  dataDir: string;
  /** Creates a bucket with the root credentials. */
  createBucket(name: string): Promise<void>;
  /** Environment variables that point the trainer's s3:// stores at this server. */
  env(): Record<string, string>;
  /** Stops the server with SIGTERM (SIGKILL after 5 s); the data folder is kept. */
  stop(): Promise<void>;
  /** Ends the server with SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and folder and waits until it responds. */
  restart(): Promise<void>;
  /** Stops the server and deletes the data folder when the harness created it. */
  dispose(): Promise<void>;
}

/**
 * Returns the versitygw binary to test with: $MILDNET_S3_SERVER_BIN, else the
 * one scripts/setup-s3.sh caches for its default version; undefined when
 * neither exists.
 */
export function findS3ServerBinary(): string | undefined {
  return findCachedBinary({
    binaryVariable: 'MILDNET_S3_SERVER_BIN',
    setupScript: 'setup-s3.sh',
    versionVariable: 'VERSITYGW_VERSION',
    cacheFolder: 's3',
    binaryName: 'versitygw',
  });
}

export async function startS3Server(options: S3ServerOptions = {}): Promise<S3TestServer> {
  const binary = options.binary ?? findS3ServerBinary();
  if (binary === undefined) {
    throw new Error('The versitygw binary is missing; run scripts/setup-s3.sh to build it');
  }
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'mildnet-s3-')));
  await fs.mkdir(dataDir, { recursive: true });
  const accessKeyId = options.accessKeyId ?? `test-${randomBytes(4).toString('hex')}`;
  const secretAccessKey = options.secretAccessKey ?? randomBytes(18).toString('base64url');
  const region = options.region ?? 'us-east-1';
  const server = await startServerProcess({
    name: 'versitygw',
    binary,
    args: (port) => ['--port', `127.0.0.1:${port}`, '--region', region, '--quiet', 'posix', dataDir],
    // Credentials go through the environment so that they do not show in `ps`.
    env: { ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
    readyPath: '/',
    startTimeoutMs: options.startTimeoutMs ?? 15_000,
  });
  const endpoint = server.endpoint;

  return {
    endpoint,
    accessKeyId,
    secretAccessKey,
    region,
    dataDir,
    async createBucket(name: string): Promise<void> {
      const client = new S3Client({
        endpoint,
        region,
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
      });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
    },
    env(): Record<string, string> {
      return {
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        AWS_S3_FORCE_PATH_STYLE: 'true',
      };
    },
    stop: () => server.stop(),
    kill: () => server.kill(),
    restart: () => server.restart(),
    async dispose(): Promise<void> {
      await server.dispose();
      if (ownsDataDir) {
        await fs.rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/** Returns a TCP port on 127.0.0.1 that was free a moment ago. */
export { freePort as findFreePort } from '../support/cli';
