/**
 * Tests of loading Keras weights into the zoo, on files that Keras wrote
 * (trainer/test/fixtures/weights/README.md describes how). The MobileNet base
 * reproduces Keras's own outputs. Every mismatch between file and model
 * fails with a message that names the layer and the fix. The train command
 * loads the weights on a fresh start only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { getModel, modelIds } from '../../src/models';
import { baseLayersOf, imagenetBaseLayers, modelIdsWithKnownBase, type ImagenetBase } from '../../src/models/imagenet-bases';
import { readKerasWeightFile } from '../../src/models/keras-h5';
import { describePretrainedSummary, loadPretrainedWeights, PretrainedWeightsError } from '../../src/models/pretrained';
import { defaultWeightsDir, fetchWeightsFile, locateWeights, WEIGHTS_DIR_ENV } from '../../src/models/weights-file';
import { DatasetCache, openStore, type CacheEvent } from '../../src/storage';
import { startS3Server, type S3TestServer } from '../../../test/s3/server';
import { describeWithS3 } from '../../../test/s3/support';
import { startCli } from '../../../test/support/cli';
import { patternPixels, writeImage } from '../data/fixtures';

jest.setTimeout(120_000);

const FIXTURES = path.resolve(__dirname, '..', 'fixtures', 'weights');
const MOBILENET_FILE = path.join(FIXTURES, 'mobilenet_2_5_128_tf_no_top.h5');

interface KerasReference {
  output_layer: string;
  output_shape: number[];
  output: number[];
  tap_means: Record<string, number[]>;
}

function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** The reference input: x[0, h, w, c] = ((3h + 5w + 7c) mod 17) / 16, as the fixture script computes it. */
function patternImage(size: number): tf.Tensor4D {
  const values = new Float32Array(size * size * 3);
  for (let h = 0; h < size; h++) {
    for (let w = 0; w < size; w++) {
      for (let c = 0; c < 3; c++) values[(h * size + w) * 3 + c] = ((3 * h + 5 * w + 7 * c) % 17) / 16;
    }
  }
  return tf.tensor4d(values, [1, size, size, 3]);
}

function maxAbsDifference(actual: ArrayLike<number>, expected: readonly number[]): number {
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i] - expected[i]));
  return max;
}

async function loadError(model: tf.LayersModel, file: string, baseLayers: readonly string[], width?: number): Promise<string> {
  try {
    await loadPretrainedWeights(model, file, { baseLayers, width });
  } catch (error) {
    expect(error).toBeInstanceOf(PretrainedWeightsError);
    return (error as Error).message;
  }
  throw new Error(`expected loading ${file} to fail`);
}

/** Copies a layer's weights. getWeights returns the variables' own tensors, so they must not be disposed. */
function weightValues(model: tf.LayersModel, layer: string): Float32Array[] {
  return model.getLayer(layer).getWeights().map((tensor) => Float32Array.from(tensor.dataSync()));
}

/** Builds a model with one Keras-named conv (8×8×3 input, like the include_top fixture) and a head Dense layer. */
function smallConvModel(useBias = true): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const conv = tf.layers.conv2d({ name: 'block1_conv1', filters: 64, kernelSize: 3, padding: 'same', useBias }).apply(input);
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(conv);
  const output = tf.layers.dense({ name: 'head_dense_1', units: 4 }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ name: 'small_conv', inputs: input, outputs: output });
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('loadPretrainedWeights on MobileNet', () => {
  const reference = JSON.parse(
    fs.readFileSync(fixture('mobilenet_2_5_128_tf_no_top.reference.json'), 'utf8'),
  ) as KerasReference;
  let model: tf.LayersModel;

  beforeAll(() => {
    model = getModel('mildnet_mobilenet').build({ inputSize: 128, width: 0.25 });
  });
  afterAll(() => model.dispose());

  test('reproduces the Keras base outputs', async () => {
    const headBefore = weightValues(model, 'head_dense_1');
    const tensorsBefore = tf.memory().numTensors;

    const summary = await loadPretrainedWeights(model, MOBILENET_FILE, { baseLayers: imagenetBaseLayers('mobilenet'), width: 0.25 });

    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(summary.layout).toBe('keras2');
    expect(summary.loadedLayers).toEqual(imagenetBaseLayers('mobilenet'));
    // Keras reports 218,544 parameters for MobileNet(alpha=0.25, include_top=False).
    expect(summary.loadedParameters).toBe(218_544);
    expect(summary.initialisedLayers).toEqual(['head_dense_1', 'head_dense_2']);
    expect(summary.skippedTopLayers).toEqual([]);
    expect(weightValues(model, 'head_dense_1')).toEqual(headBefore);

    const tapNames = Object.keys(reference.tap_means);
    const probe = tf.model({
      inputs: model.inputs,
      outputs: [reference.output_layer, ...tapNames].map((name) => model.getLayer(name).output as tf.SymbolicTensor),
    });
    const image = patternImage(128);
    const [output, ...taps] = probe.predict(image) as tf.Tensor[];

    expect(output.shape).toEqual(reference.output_shape);
    const outputValues = output.dataSync();
    expect(maxAbsDifference(outputValues, reference.output)).toBeLessThan(1e-4);
    // A load that left the base random would not match, and neither would an all-zero output.
    expect(Math.max(...reference.output)).toBeGreaterThan(0.1);
    tapNames.forEach((name, index) => {
      const means = taps[index].mean([0, 1, 2]).dataSync();
      expect(maxAbsDifference(means, reference.tap_means[name])).toBeLessThan(1e-4);
    });
    tf.dispose([image, output, ...taps]);
  });

  test('summary line names loaded and initialised layers', async () => {
    const summary = await loadPretrainedWeights(model, MOBILENET_FILE, { baseLayers: imagenetBaseLayers('mobilenet'), width: 0.25 });
    expect(describePretrainedSummary(summary)).toBe(
      `loaded 54 layers (218,544 parameters) from ${MOBILENET_FILE}; 2 layers keep their random initialisation: head_dense_1, head_dense_2`,
    );
  });

  test('channel mismatch names the width multiplier', async () => {
    const wider = getModel('mildnet_mobilenet').build({ inputSize: 64, width: 0.5, headUnits: 8 });
    const message = await loadError(wider, MOBILENET_FILE, imagenetBaseLayers('mobilenet'), 0.5);
    wider.dispose();

    expect(message).toContain('layer conv1, weight kernel (conv1/kernel:0 in the file)');
    expect(message).toContain('has shape [3, 3, 3, 8] in the file but [3, 3, 3, 16] in model mildnet_mobilenet');
    expect(message).toContain('saved at width multiplier 0.25 but the model is built at 0.5');
    expect(message).toContain('set width_multiplier to 0.25');
  });
});

describe('loadPretrainedWeights on VGG16', () => {
  let model: tf.LayersModel;
  let block1Before: Float32Array[];

  beforeAll(() => {
    model = getModel('mildnet_vgg16').build({ inputSize: 32 });
    block1Before = weightValues(model, 'block1_conv1');
  });
  afterAll(() => model.dispose());

  test('rejects a partial base', async () => {
    const message = await loadError(model, fixture('vgg16_block1.h5'), imagenetBaseLayers('vgg16'));

    expect(message).toContain('has no weights for 11 layers of the base of model mildnet_vgg16');
    expect(message).toContain('block2_conv1, block2_conv2, block3_conv1');
    expect(message).toContain('block5_conv3');
    expect(message).not.toContain('block1_conv2,');
    expect(message).toContain('use the complete weights file');
  });

  test('failed load leaves the model unchanged', () => {
    expect(weightValues(model, 'block1_conv1')).toEqual(block1Before);
  });

  test('shape mismatch names both shapes', async () => {
    const message = await loadError(model, fixture('vgg16_block1_wrong_shape.h5'), imagenetBaseLayers('vgg16'));

    expect(message).toContain('layer block1_conv1, weight kernel (block1_conv1/kernel:0 in the file)');
    expect(message).toContain('has shape [3, 3, 3, 32] in the file but [3, 3, 3, 64] in model mildnet_vgg16');
    expect(message).toContain('saved from another architecture or configuration');
  });

  test('loads a partial file without base layers', async () => {
    const summary = await loadPretrainedWeights(model, fixture('vgg16_block1.h5'), { baseLayers: [] });

    expect(summary.loadedLayers).toEqual(['block1_conv1', 'block1_conv2']);
    expect(summary.loadedParameters).toBe(1_792 + 36_928);
    expect(summary.initialisedLayers).toContain('block2_conv1');
    expect(summary.initialisedLayers).toContain('head_dense_2');
    expect(weightValues(model, 'block1_conv1')).not.toEqual(block1Before);
  });
});

describe('loadPretrainedWeights file checks', () => {
  test('rejects layers the model lacks', async () => {
    const model = getModel('alexnet').build({ inputSize: 67 });
    const message = await loadError(model, fixture('vgg16_block1.h5'), baseLayersOf('alexnet'));
    model.dispose();

    expect(message).toContain('has weights for layers that model alexnet does not have: block1_conv1, block1_conv2');
  });

  test('skips include_top classifier layers', async () => {
    const model = smallConvModel();
    const summary = await loadPretrainedWeights(model, fixture('vgg16_block1_include_top.h5'), { baseLayers: ['block1_conv1'] });
    const file = readKerasWeightFile(fs.readFileSync(fixture('vgg16_block1_include_top.h5')), 'include_top');
    const kernel = weightValues(model, 'block1_conv1')[0];
    model.dispose();

    expect(summary.loadedLayers).toEqual(['block1_conv1']);
    expect(summary.skippedTopLayers).toEqual(['fc1', 'fc2', 'predictions']);
    expect(summary.initialisedLayers).toEqual(['head_dense_1']);
    expect(kernel).toEqual(file.layers[0].weights[0].read());
    expect(describePretrainedSummary(summary)).toContain('skipped the include_top classifier layers fc1, fc2, predictions; the _notop file');
  });

  test('reads a file written by model.save', async () => {
    const model = smallConvModel();
    const summary = await loadPretrainedWeights(model, fixture('vgg16_block1_conv1_model.h5'), { baseLayers: ['block1_conv1'] });
    const [kernel, bias] = weightValues(model, 'block1_conv1');
    model.dispose();

    expect(summary.loadedParameters).toBe(1_792);
    // The fixture script wrote kernel value i / 1000 at row-major index i and bias -j / 100.
    expect(kernel.length).toBe(3 * 3 * 3 * 64);
    kernel.forEach((value, i) => expect(value).toBeCloseTo(i / 1000, 6));
    bias.forEach((value, j) => expect(value).toBeCloseTo(-j / 100, 6));
  });

  test('reads a Keras 3 weights file', async () => {
    const input = tf.input({ shape: [4] });
    const output = tf.layers.dense({ name: 'projection', units: 2 }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    const summary = await loadPretrainedWeights(model, fixture('projection.weights.h5'), { baseLayers: ['projection'] });
    const [kernel, bias] = weightValues(model, 'projection');
    model.dispose();

    expect(summary.layout).toBe('keras3');
    expect(summary.loadedLayers).toEqual(['projection']);
    expect(Array.from(kernel)).toEqual([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7].map(Math.fround));
    expect(Array.from(bias)).toEqual([0.5, -0.5]);
  });

  test('rejects a weight count mismatch', async () => {
    const model = smallConvModel(false);
    const message = await loadError(model, fixture('vgg16_block1_conv1_model.h5'), ['block1_conv1']);
    model.dispose();

    expect(message).toContain('layer block1_conv1 has 2 weights in the file (block1_conv1/kernel:0, block1_conv1/bias:0)');
    expect(message).toContain('but 1 in model small_conv (kernel)');
  });

  test('rejects a file that is not HDF5', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mildnet-weights-'));
    const file = path.join(dir, 'weights.h5');
    fs.writeFileSync(file, 'not an HDF5 file\n');
    const model = smallConvModel();
    const message = await loadError(model, file, ['block1_conv1']);
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });

    expect(message).toContain(`${file} is not a readable HDF5 file`);
    expect(message).toContain('expected Keras weights saved with save_weights');
  });

  test('rejects an unreadable path', async () => {
    const model = smallConvModel();
    const message = await loadError(model, path.join(FIXTURES, 'absent.h5'), ['block1_conv1']);
    model.dispose();

    expect(message).toBe(`The weights file ${path.join(FIXTURES, 'absent.h5')} cannot be read (ENOENT)`);
  });
});

describe('imagenet bases', () => {
  test('cover every model id', () => {
    expect(modelIdsWithKnownBase().sort()).toEqual(modelIds());
  });

  const builds: Array<[ImagenetBase, string, number]> = [
    ['vgg16', 'vanila_vgg16', 32],
    ['vgg19', 'mildnet_vgg19', 32],
    ['mobilenet', 'mildnet_mobilenet', 32],
  ];

  test.each(builds)('list the %s layers with weights', (base, modelId, inputSize) => {
    const model = getModel(modelId).build({ inputSize });
    const keras = /^(block\d_conv\d|conv1(_bn)?|conv_(dw|pw)_\d+(_bn)?)$/;
    const weighted = model.layers.filter((layer) => layer.weights.length > 0).map((layer) => layer.name);
    model.dispose();

    expect(weighted.filter((name) => keras.test(name))).toEqual(imagenetBaseLayers(base));
  });
});

describe('locateWeights', () => {
  const fields = { model_id: 'mildnet_vgg16', input_size: 224, width_multiplier: 1 };

  test('returns nothing without weights', () => {
    expect(locateWeights(fields)).toBeUndefined();
  });

  const names: Array<[string, number, number, string]> = [
    ['mildnet_vgg16', 224, 1, 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5'],
    ['visnet_model', 224, 1, 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5'],
    ['ranknet', 224, 1, 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5'],
    ['mildnet_vgg19', 96, 1, 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5'],
    ['mildnet_mobilenet', 224, 1, 'mobilenet_1_0_224_tf_no_top.h5'],
    ['mildnet_mobilenet', 160, 0.75, 'mobilenet_7_5_160_tf_no_top.h5'],
    ['mildnet_mobilenet', 192, 0.5, 'mobilenet_5_0_192_tf_no_top.h5'],
    ['mildnet_mobilenet', 128, 0.25, 'mobilenet_2_5_128_tf_no_top.h5'],
    // Keras takes the 224 file for an input size without published weights.
    ['mildnet_mobilenet', 32, 0.25, 'mobilenet_2_5_224_tf_no_top.h5'],
  ];

  test.each(names)('names the %s file at %i px and width %d', (modelId, inputSize, width, fileName) => {
    const location = locateWeights({ model_id: modelId, weights: 'imagenet', input_size: inputSize, width_multiplier: width }, {});
    expect(location?.uri).toBe(path.join(defaultWeightsDir(), fileName));
    expect(location?.imagenet?.fileName).toBe(fileName);
  });

  test('reads the folder from the environment', () => {
    const local = locateWeights({ ...fields, weights: 'imagenet' }, { [WEIGHTS_DIR_ENV]: '/models' });
    const remote = locateWeights({ ...fields, weights: 'imagenet' }, { [WEIGHTS_DIR_ENV]: 's3://bucket/keras/' });

    expect(local?.uri).toBe('/models/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5');
    expect(remote?.uri).toBe('s3://bucket/keras/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5');
  });

  test('expands a home-relative path', () => {
    expect(locateWeights({ ...fields, weights: '~/w/vgg.h5' })?.uri).toBe(path.join(os.homedir(), 'w', 'vgg.h5'));
    expect(locateWeights({ ...fields, weights: 's3://bucket/vgg.h5' })?.uri).toBe('s3://bucket/vgg.h5');
  });

  test('gives the download command', () => {
    const mobilenet = locateWeights({ model_id: 'mildnet_mobilenet', weights: 'imagenet', input_size: 160, width_multiplier: 0.5 }, {});
    const vgg19 = locateWeights({ model_id: 'ranknet', weights: 'imagenet', input_size: 224, width_multiplier: 1 }, {});

    expect(mobilenet?.imagenet?.downloadCommand).toBe(
      'python -c "from tensorflow.keras.applications import MobileNet; MobileNet(input_shape=(160, 160, 3), alpha=0.5, include_top=False)"',
    );
    expect(vgg19?.imagenet?.downloadCommand).toBe('python -c "from tensorflow.keras.applications import VGG19; VGG19(include_top=False)"');
  });
});

describe('fetchWeightsFile on local paths', () => {
  let dir: string;
  let cache: DatasetCache;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mildnet-weights-'));
    cache = new DatasetCache({ cacheDir: path.join(dir, 'cache'), maxBytes: 1e9 });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function fetchError(location: ReturnType<typeof locateWeights>): Promise<string> {
    try {
      await fetchWeightsFile(location!, { modelId: 'mildnet_mobilenet', cache });
    } catch (error) {
      expect(error).toBeInstanceOf(PretrainedWeightsError);
      return (error as Error).message;
    }
    throw new Error('expected the fetch to fail');
  }

  test('uses a local file in place', async () => {
    const location = locateWeights(
      { model_id: 'mildnet_mobilenet', weights: 'imagenet', input_size: 128, width_multiplier: 0.25 },
      { [WEIGHTS_DIR_ENV]: FIXTURES },
    );
    expect(await fetchWeightsFile(location!, { modelId: 'mildnet_mobilenet', cache })).toBe(MOBILENET_FILE);
    expect(await fetchWeightsFile({ uri: `file://${MOBILENET_FILE}` }, { modelId: 'mildnet_mobilenet', cache })).toBe(MOBILENET_FILE);
  });

  test('explains a missing ImageNet file', async () => {
    const location = locateWeights(
      { model_id: 'mildnet_mobilenet', weights: 'imagenet', input_size: 224, width_multiplier: 1 },
      { [WEIGHTS_DIR_ENV]: dir },
    );
    const message = await fetchError(location);

    expect(message).toContain('"imagenet" reads mobilenet_1_0_224_tf_no_top.h5, the ImageNet weights of the mobilenet base of mildnet_mobilenet');
    expect(message).toContain(`but ${path.join(dir, 'mobilenet_1_0_224_tf_no_top.h5')} was not found`);
    expect(message).toContain(`set ${WEIGHTS_DIR_ENV} to the folder`);
    expect(message).toContain('MobileNet(input_shape=(224, 224, 3), alpha=1.0, include_top=False)');
    expect(message).toContain('then copy ~/.keras/models/mobilenet_1_0_224_tf_no_top.h5');
  });

  test('names a missing file path', async () => {
    const file = path.join(dir, 'missing.h5');
    expect(await fetchError({ uri: file })).toBe(
      `the weights file ${file} was not found; set weights to the path or URI (file://, s3://, gs://) of a Keras .h5 weights file, or remove the field to start from random weights`,
    );
  });

  test('rejects a folder', async () => {
    expect(await fetchError({ uri: FIXTURES })).toBe(`the weights path ${FIXTURES} is a folder; set weights to the .h5 file in it`);
  });
});

describeWithS3('fetchWeightsFile from S3', () => {
  let server: S3TestServer;
  let root: string;

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket('weights');
    const bucket = await openStore('s3://weights/keras/', { env: server.env() });
    await bucket.putFile('mobilenet_2_5_128_tf_no_top.h5', MOBILENET_FILE);
    await bucket.put('unrelated.bin', Buffer.alloc(1024, 7));
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mildnet-weights-s3-'));
  });
  afterAll(async () => {
    await server?.dispose();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  const newCache = (events: CacheEvent[]): DatasetCache =>
    new DatasetCache({ cacheDir: root, maxBytes: 1e9, storeOptions: { env: server.env() }, onEvent: (event) => events.push(event) });

  test('downloads the file once and loads it', async () => {
    const location = locateWeights(
      { model_id: 'mildnet_mobilenet', weights: 'imagenet', input_size: 128, width_multiplier: 0.25 },
      { [WEIGHTS_DIR_ENV]: 's3://weights/keras' },
    );
    const first: CacheEvent[] = [];
    const file = await fetchWeightsFile(location!, { modelId: 'mildnet_mobilenet', cache: newCache(first) });

    expect(fs.readFileSync(file).equals(fs.readFileSync(MOBILENET_FILE))).toBe(true);
    expect(first.map((event) => `${event.type} ${'key' in event ? event.key : ''}`)).toEqual(['download mobilenet_2_5_128_tf_no_top.h5']);

    const second: CacheEvent[] = [];
    expect(await fetchWeightsFile(location!, { modelId: 'mildnet_mobilenet', cache: newCache(second) })).toBe(file);
    expect(second.map((event) => event.type)).toEqual(['reuse']);

    const model = getModel('mildnet_mobilenet').build({ inputSize: 128, width: 0.25, headUnits: 8 });
    const summary = await loadPretrainedWeights(model, file, { baseLayers: imagenetBaseLayers('mobilenet'), width: 0.25 });
    model.dispose();
    expect(summary.loadedLayers).toHaveLength(54);
  });

  test('names a missing remote file', async () => {
    const message = await fetchWeightsFile({ uri: 's3://weights/keras/absent.h5' }, { modelId: 'mildnet_mobilenet', cache: newCache([]) }).then(
      () => 'no error',
      (error: Error) => error.message,
    );
    expect(message).toMatch(/^the weights file s3:\/\/weights\/keras\/absent\.h5 was not found/);
  });
});

describe('mildnet train with weights', () => {
  let root: string;
  let data: string;
  let config: string;
  let emptyDir: string;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'mildnet-weights-cli-'));
    data = path.join(root, 'data');
    emptyDir = path.join(root, 'empty');
    fs.mkdirSync(path.join(data, 'images'), { recursive: true });
    fs.mkdirSync(emptyDir);
    for (let i = 0; i < 6; i++) {
      await writeImage(path.join(data, 'images', `${i}.png`), patternPixels(24, 24, 3, i), 24, 24, 3);
    }
    fs.writeFileSync(path.join(data, 'train.csv'), '0.png,1.png,2.png\n3.png,4.png,5.png\n1.png,0.png,4.png\n');
    fs.writeFileSync(path.join(data, 'val.csv'), '2.png,3.png,0.png\n');
    config = path.join(root, 'config.yaml');
    fs.writeFileSync(
      config,
      [
        'model_id: mildnet_mobilenet',
        'width_multiplier: 0.25',
        'head_units: 16',
        'head_dropout: 0',
        'input_size: 128',
        'loss: hinge_loss',
        'optimizer: mo',
        'lr: 0.01',
        'epochs: 1',
        'batch_size: 1',
        'train_csv: train.csv',
        'val_csv: val.csv',
        'images: images',
        'augmentation:',
        '  enabled: false',
        'weights: imagenet',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  async function train(jobDir: string, weightsDir: string, maxSteps: number): Promise<{ code: number | null; output: string }> {
    const args = ['train', '--config', config, '--data', data, '--job-dir', jobDir, '--max-steps', String(maxSteps), '--cache-dir', path.join(root, 'cache')];
    const run = startCli(args, { [WEIGHTS_DIR_ENV]: weightsDir, MILDNET_BACKEND: 'wasm' });
    return { code: await run.exit, output: run.output() };
  }

  function logRecords(output: string): Array<Record<string, unknown>> {
    return output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  test('loads weights on fresh starts only', async () => {
    const jobDir = path.join(root, 'job');
    const fresh = await train(jobDir, FIXTURES, 1);
    expect(fresh.code).toBe(0);
    const loaded = logRecords(fresh.output).find((record) => record.msg === 'pretrained weights loaded');
    expect(loaded).toMatchObject({
      file: MOBILENET_FILE,
      layout: 'keras2',
      layersLoaded: 54,
      parametersLoaded: 218_544,
      layersInitialised: ['head_dense_1', 'head_dense_2'],
    });

    // The resumed run reads its weights from the checkpoint, so the missing file does not matter.
    const resumed = await train(jobDir, emptyDir, 2);
    expect(resumed.code).toBe(0);
    const messages = logRecords(resumed.output).map((record) => record.msg);
    expect(messages).toContain('resuming from a checkpoint, so the weights field is not read');
    expect(messages).not.toContain('pretrained weights loaded');
  });

  test('exits 2 without the ImageNet file', async () => {
    const jobDir = path.join(root, 'missing');
    const run = await train(jobDir, emptyDir, 1);

    expect(run.code).toBe(2);
    expect(run.output).toContain(`Invalid job config ${config}:`);
    expect(run.output).toContain(`- weights: "imagenet" reads mobilenet_2_5_128_tf_no_top.h5`);
    expect(run.output).toContain(`${path.join(emptyDir, 'mobilenet_2_5_128_tf_no_top.h5')} was not found`);
    expect(fs.existsSync(path.join(jobDir, 'checkpoints'))).toBe(false);
  });
});
