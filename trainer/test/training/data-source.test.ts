import * as fs from 'node:fs';
import * as path from 'node:path';

import { ConfigError } from '../../src/config';
import { openTripletData } from '../../src/training/data-source';
import { smallConfig, tempDir } from './support';

describe('openTripletData', () => {
  test('rejects a batch larger than a triplet file', async () => {
    const dataDir = tempDir('mildnet-data-source-');
    fs.mkdirSync(path.join(dataDir, 'images'));
    fs.writeFileSync(path.join(dataDir, 'train.csv'), 'a.png,b.png,c.png\nd.png,e.png,f.png\n');
    fs.writeFileSync(path.join(dataDir, 'val.csv'), 'a.png,b.png,c.png\n');

    const opening = openTripletData({ config: smallConfig({ batch_size: 2 }), dataDir, cacheDir: path.join(dataDir, 'cache') });
    const error = await opening.then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0].path).toBe('batch_size');
    expect(problems[0].message).toBe(
      'got 2, more than the 1 triplets of val.csv, so an epoch would have no step; lower batch_size to at most 1 or add triplets',
    );
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});
