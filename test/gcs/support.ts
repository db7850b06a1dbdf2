/**
 * Shared set-up for the tests that need the Cloud Storage emulator. They are
 * skipped with a message when the fake-gcs-server binary is missing, and
 * fail instead when MILDNET_REQUIRE_GCS is set (as CI does).
 */
import { StorageRequestError } from '../../trainer/src/storage';
import { EgressTrap, overrideProcessEnv, startEgressTrap } from './egress-trap';
import { findGcsServerBinary, GcsTestServer, startGcsServer } from './server';

export const GCS_SERVER_BINARY = findGcsServerBinary();

const REQUIRED = process.env.MILDNET_REQUIRE_GCS !== undefined && process.env.MILDNET_REQUIRE_GCS !== '';
const MISSING_MESSAGE = 'The fake-gcs-server binary is missing; build it with scripts/setup-gcs.sh';

/** Declares a suite that runs only when the fake-gcs-server binary exists. */
export function describeWithGcs(name: string, suite: () => void): void {
  if (GCS_SERVER_BINARY !== undefined) {
    describe(name, suite);
    return;
  }
  if (REQUIRED) {
    describe(name, () => {
      it('has the fake-gcs-server binary', () => {
        throw new Error(`${MISSING_MESSAGE} (MILDNET_REQUIRE_GCS is set, so this fails instead of skipping)`);
      });
    });
    return;
  }
  console.warn(`Skipping "${name}": ${MISSING_MESSAGE}, or set MILDNET_REQUIRE_GCS=1 to fail instead`);
  describe.skip(name, suite);
}

/** An emulator with one bucket, reached from a process whose other traffic goes to an egress trap. */
export interface GcsFixture {
  server: GcsTestServer;
  trap: EgressTrap;
  /** Stops the server, restores process.env and closes the trap. */
  close(): Promise<void>;
}

/**
 * Starts the egress trap and routes this process's metadata server and proxy
 * variables to it, together with the overrides in env (undefined unsets a
 * variable). Then starts fake-gcs-server and creates the bucket.
 */
export async function startGcsFixture(bucket: string, env: Record<string, string | undefined> = {}): Promise<GcsFixture> {
  const trap = await startEgressTrap();
  const restoreEnv = overrideProcessEnv({ ...trap.env(), ...env });
  let server: GcsTestServer | undefined;
  const close = async (): Promise<void> => {
    await server?.dispose();
    restoreEnv();
    await trap.close();
  };

  try {
    server = await startGcsServer();
    await server.createBucket(bucket);
  } catch (error) {
    await close();
    throw error;
  }
  return { server, trap, close };
}

/** Returns the StorageRequestError that promise rejects with. Rethrows any other error, and throws if promise resolves. */
export async function captureError(promise: Promise<unknown>): Promise<StorageRequestError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StorageRequestError) {
      return error;
    }
    throw error;
  }
  throw new Error('Expected the request to fail');
}
