/**
 * gs:// URIs. They go through Cloud Storage's XML API, which accepts S3
 * requests signed with HMAC keys ("interoperability"), so the S3 store and its
 * retry policy serve both schemes.
 *
 * The native client was not used: @google-cloud/storage 8.x requires Node.js
 * 22, and no Cloud Storage server can run on the test machines, whereas the
 * S3 path is tested against a real S3 server. This means gs:// needs HMAC
 * keys; Application Default Credentials and GKE Workload Identity are not
 * supported.
 */
import { S3ObjectStore, S3StoreArgs } from './s3';
import { resolveGcsSettings } from './s3-settings';

type Environment = Readonly<Record<string, string | undefined>>;

/** Opens a store over gs://bucket/prefix with settings from the MILDNET_GCS_* variables. */
export async function openGcsStore(
  bucket: string,
  prefix: string,
  args: S3StoreArgs = {},
  env: Environment = process.env,
): Promise<S3ObjectStore> {
  const settings = await resolveGcsSettings(env);
  // NOTE: tested only against an S3 server standing in for Cloud Storage.
  // The default signing region "auto" is unverified against
  // storage.googleapis.com; set MILDNET_GCS_REGION if Cloud Storage rejects
  // the signature.
  return new S3ObjectStore('gs', bucket, prefix, settings, args);
}
