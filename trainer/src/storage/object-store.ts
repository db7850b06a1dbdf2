/**
 * The storage seam that checkpoints, outputs and data fetches go through.
 * Keys are relative to the store's root (a local directory or a bucket
 * prefix) and use forward slashes on every platform.
 */
export interface ObjectInfo {
  key: string;
  sizeBytes: number;
  /** Entity tag or checksum when the backend provides one. */
  etag?: string;
  lastModified?: Date;
}

export interface ObjectStore {
  /** The URI of the store's root, without credentials, for logs and errors. */
  readonly uri: string;
  /** Writes the object so that readers never observe a partial body. */
  put(key: string, body: Buffer | Uint8Array | string): Promise<ObjectInfo>;
  /** Reads the whole object; rejects with ObjectNotFoundError when it is missing. */
  get(key: string): Promise<Buffer>;
  /** Returns the object's metadata, or undefined when it is missing. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Lists every object whose key starts with prefix, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes the object; deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  constructor(
    readonly uri: string,
    options?: { cause?: unknown },
  ) {
    super(`Object not found: ${uri}`, options);
    this.name = 'ObjectNotFoundError';
  }
}

/**
 * An ObjectStore that also moves whole files between the store and the local
 * disk without holding them in memory. Every backend that openStore returns
 * implements it.
 */
export interface FileObjectStore extends ObjectStore {
  /** Uploads the local file to key; large files go up in parts. */
  putFile(key: string, localPath: string): Promise<ObjectInfo>;
  /**
   * Downloads key to localPath through a temporary file and a rename, so that
   * localPath never contains a partial body; rejects with ObjectNotFoundError
   * when the object is missing.
   */
  getToFile(key: string, localPath: string): Promise<ObjectInfo>;
  /** Returns the URI of key inside this store, without credentials. */
  uriOf(key: string): string;
}
