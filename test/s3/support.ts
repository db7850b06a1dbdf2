/**
 * Shared set-up for the tests that need the S3 server: they are skipped with
 * a message when the versitygw binary is missing, and fail instead when
 * MILDNET_REQUIRE_S3 is set (as CI does).
 */
import { findS3ServerBinary } from './server';

export const S3_SERVER_BINARY = findS3ServerBinary();

const REQUIRED = process.env.MILDNET_REQUIRE_S3 !== undefined && process.env.MILDNET_REQUIRE_S3 !== '';
const MISSING_MESSAGE = 'The versitygw S3 server binary is missing; build it with scripts/setup-s3.sh';

/** Declares a suite that runs only when the S3 server binary exists. */
export function describeWithS3(name: string, suite: () => void): void {
  if (S3_SERVER_BINARY !== undefined) {
    describe(name, suite);
    return;
  }
  if (REQUIRED) {
    describe(name, () => {
      it('has the S3 server binary', () => {
        throw new Error(`${MISSING_MESSAGE} (MILDNET_REQUIRE_S3 is set, so this fails instead of skipping)`);
      });
    });
    return;
  }
  console.warn(`Skipping "${name}": ${MISSING_MESSAGE}, or set MILDNET_REQUIRE_S3=1 to fail instead`);
  describe.skip(name, suite);
}
