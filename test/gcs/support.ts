/**
 * Shared set-up for the tests that need the Cloud Storage emulator: they are
 * skipped with a message when the fake-gcs-server binary is missing, and fail
 * instead when MILDNET_REQUIRE_GCS is set (as CI does).
 */
import { findGcsServerBinary } from './server';

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
