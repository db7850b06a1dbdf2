/**
 * Reader for the IDX format of MNIST and Fashion-MNIST: a 4-byte magic
 * number (two zero bytes, a type code, the number of dimensions), one
 * big-endian uint32 size per dimension, then the values in row-major order.
 * Only unsigned-byte data (type code 0x08) is supported, which is what both
 * data sets use. Gzip-compressed files are recognised by their magic bytes.
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';

const gunzipAsync = promisify(gunzip);

const IDX_UNSIGNED_BYTE = 0x08;

export interface IdxArray {
  /** Size of each dimension, outermost first. */
  shape: number[];
  data: Uint8Array;
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Parses an IDX file's bytes (already decompressed); `name` is used in errors. */
export function parseIdx(bytes: Uint8Array, name: string): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new Error(`${name} is not an IDX file: it must start with two zero bytes`);
  }
  if (bytes[2] !== IDX_UNSIGNED_BYTE) {
    throw new Error(`${name} has IDX type 0x${bytes[2].toString(16)}; only unsigned bytes (0x08) are supported`);
  }
  const dimensions = bytes[3];
  const headerLength = 4 + 4 * dimensions;
  if (dimensions === 0 || bytes.length < headerLength) {
    throw new Error(`${name} has a truncated IDX header (${dimensions} dimensions, ${bytes.length} bytes)`);
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    shape.push(view.getUint32(4 + 4 * i, false));
  }
  const count = shape.reduce((product, size) => product * size, 1);
  if (bytes.length - headerLength !== count) {
    throw new Error(
      `${name} has ${bytes.length - headerLength} data bytes, expected ${count} for shape [${shape.join(', ')}]`,
    );
  }
  return { shape, data: bytes.subarray(headerLength) };
}

/** Reads an IDX file, gunzipping it first when it is gzip-compressed. */
export async function readIdxFile(file: string): Promise<IdxArray> {
  let bytes: Uint8Array = await readFile(file);
  if (isGzip(bytes)) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (error) {
      throw new Error(`${file} is a corrupt gzip file: ${(error as Error).message}`, { cause: error });
    }
  }
  return parseIdx(bytes, file);
}
