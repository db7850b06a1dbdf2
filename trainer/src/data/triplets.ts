/**
 * Triplet CSV files: one `query,positive,negative` triplet per line, each a
 * path relative to the image root, no header (a first line that reads
 * exactly `query,positive,negative` is skipped). Blank lines, CRLF line
 * ends, a UTF-8 byte order mark and RFC 4180 quoting are accepted.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';

import { parse } from 'csv-parse/sync';

import { Random, STREAM_SHUFFLE, assertSeed } from './random';

/** Origin of a triplet (file and line) for error messages. */
export interface TripletSource {
  file: string;
  /** 1-based line number in file. */
  line: number;
}

/** One training example; the three paths are absolute and inside the image root. */
export interface Triplet {
  query: string;
  positive: string;
  negative: string;
  source: TripletSource;
}

export const TRIPLET_ROLES = ['query', 'positive', 'negative'] as const;
export type TripletRole = (typeof TRIPLET_ROLES)[number];

/** A line of a triplet file that cannot be used, with its file and line. */
export class TripletCsvError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}:${line}: ${message}`, options);
    this.name = 'TripletCsvError';
  }
}

export interface ParseTripletsArgs {
  /** File name used in errors and in each triplet's source. */
  file: string;
  /** Directory that the relative image paths are resolved against. */
  imageRoot: string;
}

/**
 * Resolves a path from a triplet file against imageRoot. Rejects empty and
 * absolute paths and paths that leave the root through `..`, so a triplet
 * file cannot make the trainer read files outside the dataset.
 */
export function resolveImagePath(imageRoot: string, relativePath: string): string {
  if (relativePath.length === 0) {
    throw new Error('image path is empty; write a path relative to the image folder');
  }
  if (relativePath.includes('\0')) {
    throw new Error(`image path ${JSON.stringify(relativePath)} contains a NUL byte`);
  }
  if (path.isAbsolute(relativePath)) {
    throw new Error(
      `image path ${JSON.stringify(relativePath)} is absolute; write it relative to the image folder`,
    );
  }
  const root = path.resolve(imageRoot);
  const resolved = path.resolve(root, relativePath);
  const inside = path.relative(root, resolved);
  if (inside === '') {
    throw new Error(`image path ${JSON.stringify(relativePath)} names the image folder itself; name an image file`);
  }
  if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
    throw new Error(
      `image path ${JSON.stringify(relativePath)} resolves outside the image folder ${root}; remove the ".." segments`,
    );
  }
  return resolved;
}

function isHeader(fields: string[]): boolean {
  return fields.length === 3 && fields.every((field, i) => field.toLowerCase() === TRIPLET_ROLES[i]);
}

interface CsvRecord {
  record: string[];
  info: { lines: number };
}

function parseCsvRecords(text: string, file: string): CsvRecord[] {
  try {
    return parse(text, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
    }) as unknown as CsvRecord[];
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? 0;
    const reason = error instanceof Error ? error.message : String(error);
    throw new TripletCsvError(file, line, `invalid CSV: ${reason}`, { cause: error });
  }
}

/** Parses the text of one triplet file. */
export function parseTriplets(text: string, args: ParseTripletsArgs): Triplet[] {
  const triplets: Triplet[] = [];
  const records = parseCsvRecords(text, args.file);

  for (const [index, { record, info }] of records.entries()) {
    const line = info.lines;
    if (record.every((field) => field === '')) {
      continue;
    }
    if (index === 0 && isHeader(record)) {
      continue;
    }
    if (record.length !== 3) {
      throw new TripletCsvError(
        args.file,
        line,
        `expected 3 fields query,positive,negative, found ${record.length} in ${JSON.stringify(record.join(','))}`,
      );
    }

    const paths = record.map((field, i) => {
      try {
        return resolveImagePath(args.imageRoot, field);
      } catch (error) {
        throw new TripletCsvError(args.file, line, `${TRIPLET_ROLES[i]}: ${(error as Error).message}`);
      }
    });
    triplets.push({
      query: paths[0],
      positive: paths[1],
      negative: paths[2],
      source: { file: args.file, line },
    });
  }

  return triplets;
}

/** Reads and parses triplet files in the given order and concatenates their triplets. */
export async function readTriplets(files: string | readonly string[], imageRoot: string): Promise<Triplet[]> {
  const list = typeof files === 'string' ? [files] : files;
  const triplets: Triplet[] = [];

  for (const file of list) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new Error(`Cannot read triplet file ${file}: ${(error as Error).message}`, { cause: error });
    }
    for (const triplet of parseTriplets(text, { file, imageRoot })) {
      triplets.push(triplet);
    }
  }

  return triplets;
}

/** Classes of triplet images by folder. */
export interface FolderClasses {
  /** Folder of each class id relative to the image root, `/`-separated and sorted. `.` is the root itself. */
  folders: string[];
  /** Class id of every image, three per triplet in query, positive, negative order. */
  classes: Int32Array;
}

/**
 * Assigns each image the class of its parent folder relative to imageRoot.
 * Ids number the distinct folders in sorted order, so they depend only on
 * which folders the triplets use, not on the triplets' order.
 */
export function folderClasses(triplets: readonly Triplet[], imageRoot: string): FolderClasses {
  const root = path.resolve(imageRoot);
  const folderOf = (imagePath: string): string => path.relative(root, path.dirname(imagePath)).split(path.sep).join('/') || '.';
  const imageFolders = triplets.flatMap((triplet) => TRIPLET_ROLES.map((role) => folderOf(triplet[role])));

  const folders = [...new Set(imageFolders)].sort();
  const ids = new Map(folders.map((folder, id) => [folder, id]));
  const classes = Int32Array.from(imageFolders, (folder) => ids.get(folder) as number);
  return { folders, classes };
}

/**
 * Returns the order in which an epoch visits `count` triplets: a permutation
 * that depends only on (seed, epoch), so a resumed run gets the same order.
 */
export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  assertSeed(seed);
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new RangeError(`epoch must be a non-negative integer, got ${epoch}`);
  }
  return new Random(STREAM_SHUFFLE, seed, epoch).permutation(count);
}

/** Returns a copy of triplets in the epoch's shuffled order (see epochOrder). */
export function shuffleTriplets<T>(triplets: readonly T[], seed: number, epoch: number): T[] {
  const order = epochOrder(triplets.length, seed, epoch);
  return Array.from(order, (i) => triplets[i]);
}
