/**
 * A minimal PNG encoder for 8-bit grayscale and RGB images (no filtering,
 * no interlacing) that writes many tiny images quickly. sharp's fixed cost
 * per call, about 0.7 ms for a 28×28 image with sharp 0.34 on a 2-core
 * EPYC VM, would dominate the Fashion-MNIST conversion; this encoder took
 * about 0.15 ms there. The format follows the PNG
 * specification (ISO/IEC 15948): signature, IHDR, one IDAT holding a zlib
 * stream of the rows, each prefixed by filter type 0, and IEND.
 */
import { deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) {
      c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    }
    table[n] = c >>> 0;
  }
  return table;
})();

/** Returns the CRC-32 (ISO 3309, as PNG uses) of bytes. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const out = Buffer.alloc(body.length + 8);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), body.length + 4);
  return out;
}

/**
 * Encodes row-major 8-bit pixels with 1 (grayscale) or 3 (RGB) channels
 * as a PNG file.
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`PNG size must be positive integers, got ${width}×${height}`);
  }
  const rowLength = width * channels;
  if (pixels.length !== rowLength * height) {
    throw new RangeError(`pixels has ${pixels.length} bytes, expected ${width}×${height}×${channels}`);
  }

  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per sample
  header[9] = channels === 1 ? 0 : 2; // colour type: grayscale or truecolour
  // Bytes 10..12 stay 0: deflate compression, adaptive filtering, no interlace.

  const rows = Buffer.alloc((rowLength + 1) * height);
  for (let y = 0; y < height; y++) {
    rows.set(pixels.subarray(y * rowLength, (y + 1) * rowLength), y * (rowLength + 1) + 1);
  }

  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}
