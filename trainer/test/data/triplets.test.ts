import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';

import {
  TripletCsvError,
  epochOrder,
  parseTriplets,
  readTriplets,
  resolveImagePath,
  shuffleTriplets,
} from '../../src/data';
import { makeTempDir, removeDir } from './fixtures';

const root = '/data/images';

function parse(text: string) {
  return parseTriplets(text, { file: 'train.csv', imageRoot: root });
}

function parseError(text: string): TripletCsvError {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(TripletCsvError);
    return error as TripletCsvError;
  }
  throw new Error('parseTriplets accepted invalid text');
}

describe('parseTriplets', () => {
  test('plain lines resolve against root', () => {
    const triplets = parse('a/q.jpg,a/p.jpg,b/n.jpg\nc.jpg,d.jpg,e.jpg\n');

    expect(triplets).toHaveLength(2);
    expect(triplets[0].query).toBe('/data/images/a/q.jpg');
    expect(triplets[0].positive).toBe('/data/images/a/p.jpg');
    expect(triplets[0].negative).toBe('/data/images/b/n.jpg');
    expect(triplets[0].source).toEqual({ file: 'train.csv', line: 1 });
    expect(triplets[1].source.line).toBe(2);
  });

  test('CRLF, blank lines and BOM', () => {
    const triplets = parse('\uFEFFq1.png,p1.png,n1.png\r\n\r\n   \r\nq2.png,p2.png,n2.png\r\n\r\n');

    expect(triplets.map((t) => t.query)).toEqual(['/data/images/q1.png', '/data/images/q2.png']);
    expect(triplets[1].negative).toBe('/data/images/n2.png');
    expect(triplets[1].source.line).toBe(4);
  });

  test('quoted fields with commas and quotes', () => {
    const triplets = parse('"shirts/a,b.jpg","x ""y"".jpg",plain.jpg\n');

    expect(triplets[0].query).toBe('/data/images/shirts/a,b.jpg');
    expect(triplets[0].positive).toBe('/data/images/x "y".jpg');
    expect(triplets[0].negative).toBe('/data/images/plain.jpg');
  });

  test('header line is skipped', () => {
    const triplets = parse('query,positive,negative\nq.jpg,p.jpg,n.jpg\n');

    expect(triplets).toHaveLength(1);
    expect(triplets[0].source.line).toBe(2);
  });

  test('wrong field count names the line', () => {
    const error = parseError('q.jpg,p.jpg,n.jpg\n\nq.jpg,p.jpg\n');

    expect(error.file).toBe('train.csv');
    expect(error.line).toBe(3);
    expect(error.message).toContain('train.csv:3');
    expect(error.message).toContain('expected 3 fields');
  });

  test('four fields are rejected', () => {
    const error = parseError('q.jpg,p.jpg,n.jpg,extra.jpg\n');

    expect(error.line).toBe(1);
    expect(error.message).toContain('found 4');
  });

  test('unclosed quote names the line', () => {
    const error = parseError('q.jpg,p.jpg,n.jpg\nq.jpg,"p.jpg,n.jpg\n');

    expect(error.line).toBeGreaterThanOrEqual(2);
    expect(error.message).toContain('invalid CSV');
  });

  test('empty field names its role', () => {
    const error = parseError('q.jpg,,n.jpg\n');

    expect(error.line).toBe(1);
    expect(error.message).toContain('positive');
    expect(error.message).toContain('empty');
  });

  test('escaping path is rejected', () => {
    const error = parseError('q.jpg,p.jpg,n.jpg\nq.jpg,p.jpg,../../etc/passwd\n');

    expect(error.line).toBe(2);
    expect(error.message).toContain('negative');
    expect(error.message).toContain('outside the image folder');
  });
});

describe('resolveImagePath', () => {
  test('inner dot-dot segments stay allowed', () => {
    expect(resolveImagePath(root, 'a/../b/c.jpg')).toBe('/data/images/b/c.jpg');
  });

  test('absolute path is rejected', () => {
    expect(() => resolveImagePath(root, '/etc/passwd')).toThrow(/absolute/);
  });

  test('parent of root is rejected', () => {
    expect(() => resolveImagePath(root, '..')).toThrow(/outside the image folder/);
    expect(() => resolveImagePath(root, 'a/../../images2/x.jpg')).toThrow(/outside the image folder/);
  });

  test('root itself is rejected', () => {
    expect(() => resolveImagePath(root, 'a/..')).toThrow(/image folder itself/);
  });
});

describe('readTriplets', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await makeTempDir('triplets');
  });

  afterAll(async () => {
    await removeDir(dir);
  });

  test('files are concatenated in order', async () => {
    const first = path.join(dir, 'first.csv');
    const second = path.join(dir, 'second.csv');
    await writeFile(first, 'a.jpg,b.jpg,c.jpg\n');
    await writeFile(second, 'd.jpg,e.jpg,f.jpg\ng.jpg,h.jpg,i.jpg\n');

    const triplets = await readTriplets([first, second], dir);

    expect(triplets.map((t) => path.basename(t.query))).toEqual(['a.jpg', 'd.jpg', 'g.jpg']);
    expect(triplets[2].source).toEqual({ file: second, line: 2 });
  });

  test('missing file is named', async () => {
    const missing = path.join(dir, 'missing.csv');

    await expect(readTriplets(missing, dir)).rejects.toThrow(`Cannot read triplet file ${missing}`);
  });
});

describe('epochOrder', () => {
  test('is a permutation', () => {
    const order = epochOrder(1000, 42, 0);

    expect(Array.from(order).sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  test('same seed and epoch repeat', () => {
    expect(epochOrder(500, 42, 3)).toEqual(epochOrder(500, 42, 3));
  });

  test('epoch and seed change the order', () => {
    const base = epochOrder(500, 42, 3);

    expect(epochOrder(500, 42, 4)).not.toEqual(base);
    expect(epochOrder(500, 43, 3)).not.toEqual(base);
  });

  test('invalid seed is rejected', () => {
    expect(() => epochOrder(10, -1, 0)).toThrow(RangeError);
    expect(() => epochOrder(10, 1.5, 0)).toThrow(/seed/);
  });

  test('shuffleTriplets follows epochOrder', () => {
    const items = Array.from({ length: 50 }, (_, i) => `t${i}`);
    const order = epochOrder(50, 9, 2);

    expect(shuffleTriplets(items, 9, 2)).toEqual(Array.from(order, (i) => `t${i}`));
  });
});
