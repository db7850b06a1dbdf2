import * as tf from '@tensorflow/tfjs';

import { countParameters, getModel, modelIds, type ModelBuildArgs } from '../../src/models';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface ZooCase {
  id: string;
  args?: Partial<ModelBuildArgs>;
  /** Layer names the model must contain (Keras names where weights are matched by name). */
  layers: string[];
  /** Layer names the model must not contain. */
  absent?: string[];
  /**
   * False to check the output shape symbolically instead of running a forward
   * pass. A Dense layer applied to a 4-D map makes tfjs-layers copy its kernel
   * through an identity transpose, which takes seconds under jest on the cpu
   * backend. mildnet_without_skip covers the same builder with a forward pass.
   */
  forward?: boolean;
}

const VGG16_LAYERS = ['block1_conv1', 'block3_conv3', 'block4_pool', 'block5_conv3', 'block5_pool'];
const VGG19_LAYERS = ['block1_conv1', 'block3_conv4', 'block4_conv4', 'block5_conv4', 'block5_pool'];
const ALL_SKIPS = ['block5_pool_gap', 'block1_pool_gap', 'block2_pool_gap', 'block3_pool_gap', 'block4_pool_gap'];
const MILDNET_HEAD = [...ALL_SKIPS, 'skip_concat', 'head_dense_1', 'head_dropout_1', 'head_dense_2', 'l2_normalize'];
const PER_POSITION_HEAD = ['head_dense_1', 'head_dropout_1', 'head_dense_2', 'l2_normalize', 'embedding_flatten'];
const MULTISCALE_JOIN = ['shallow_concat', 'merge_concat', 'embedding_dense', 'l2_normalize'];
const DEEP_HEAD = ['deep_dense_1', 'deep_dropout_1', 'deep_dense_2', 'deep_dropout_2', 'deep_l2'];
const MOBILENET_LAYERS = [
  'conv1',
  'conv1_bn',
  'conv1_relu',
  'conv_dw_1',
  'conv_dw_1_bn',
  'conv_dw_1_relu',
  'conv_pw_1',
  'conv_pad_2',
  'conv_pad_4',
  'conv_pad_6',
  'conv_pad_12',
  'conv_pw_13_relu',
  'conv_dw_1_relu_gap',
  'conv_dw_2_relu_gap',
  'conv_dw_4_relu_gap',
  'conv_dw_6_relu_gap',
  'conv_dw_12_relu_gap',
  'skip_concat',
];

const CASES: ZooCase[] = [
  { id: 'mildnet_vgg16', layers: [...VGG16_LAYERS, ...MILDNET_HEAD] },
  { id: 'mildnet_vgg19', layers: [...VGG19_LAYERS, ...MILDNET_HEAD] },
  { id: 'mildnet_all_trainable', layers: [...VGG16_LAYERS, ...MILDNET_HEAD] },
  { id: 'mildnet_1024_512', layers: MILDNET_HEAD },
  { id: 'mildnet_512_512', layers: MILDNET_HEAD },
  { id: 'mildnet_512_no_dropout', layers: ['skip_concat', 'head_dense_2'], absent: ['head_dropout_1'] },
  { id: 'mildnet_vgg16_skip_1', layers: ['block2_pool_gap', 'block4_pool_gap'], absent: ['block1_pool_gap'] },
  { id: 'mildnet_vgg16_skip_2', layers: ['block3_pool_gap'], absent: ['block1_pool_gap', 'block2_pool_gap'] },
  { id: 'mildnet_vgg16_skip_3', layers: ['block4_pool_gap'], absent: ['block3_pool_gap'] },
  {
    id: 'mildnet_vgg16_skip_4',
    layers: PER_POSITION_HEAD,
    absent: ['skip_concat', 'block5_pool_gap'],
    forward: false,
  },
  { id: 'mildnet_without_skip', layers: PER_POSITION_HEAD, absent: ['skip_concat'] },
  { id: 'mildnet_without_skip_big', layers: PER_POSITION_HEAD, absent: ['skip_concat'], forward: false },
  {
    id: 'mildnet_vgg16_big',
    layers: [...MILDNET_HEAD.slice(0, -1), 'head_l2', 'shallow1_conv', 'shallow2_l2', ...MULTISCALE_JOIN],
  },
  { id: 'mildnet_mobilenet', layers: MOBILENET_LAYERS },
  { id: 'mildnet_mobilenet', args: { width: 0.25, headUnits: 512 }, layers: MOBILENET_LAYERS },
  { id: 'vanila_vgg16', layers: [...VGG16_LAYERS, 'embedding_flatten'], absent: ['l2_normalize'] },
  {
    id: 'visnet_model',
    layers: [...VGG16_LAYERS, ...DEEP_HEAD, 'shallow1_conv', 'shallow1_pool', 'shallow2_conv', ...MULTISCALE_JOIN],
  },
  {
    id: 'visnet_lrn2d_model',
    layers: [...DEEP_HEAD, 'shallow1_input_pool', 'shallow1_lrn', 'shallow2_lrn', 'shallow2_pad', ...MULTISCALE_JOIN],
  },
  {
    id: 'ranknet',
    layers: [...VGG19_LAYERS, ...DEEP_HEAD, 'shallow1_conv_pad', 'shallow_l2', ...MULTISCALE_JOIN],
    absent: ['shallow1_l2'],
  },
  {
    id: 'alexnet',
    layers: ['conv_1', 'lrn_1', 'conv_2_1', 'conv_2_2', 'lrn_2', 'conv_3', 'conv_4_2', 'conv_5_1', 'convpool_5'],
    absent: ['shallow1_lrn', 'block1_conv1'],
  },
];

/** Random images in [0, 1], the range the data pipeline feeds. */
function images(count: number, size: number): tf.Tensor4D {
  return tf.randomUniform([count, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
}

function label({ id, args }: ZooCase): string {
  return args ? `${id} ${JSON.stringify(args)}` : id;
}

test('cases cover every registered id', () => {
  expect([...new Set(CASES.map((c) => c.id))].sort()).toEqual(modelIds());
});

describe.each(CASES.map((c) => [label(c), c] as const))('%s at its smallest input', (_label, zooCase) => {
  const { id, args, layers, absent = [], forward = true } = zooCase;
  const spec = getModel(id);
  const inputSize = spec.minInputSize;
  let model: tf.LayersModel;

  beforeAll(() => {
    model = spec.build({ inputSize, ...args });
  });

  afterAll(() => {
    model.dispose();
  });

  test('declares [N, embeddingSize] as its output', () => {
    expect(model.outputs[0].shape).toEqual([null, spec.embeddingSize({ inputSize, ...args })]);
  });

  // The per-position models get their forward pass in the height-axis test below.
  if (forward && spec.normalization !== 'l2-height-axis') {
    test('maps images to [N, embeddingSize]', () => {
      // One image keeps the VGG forward pass short on the cpu backend; batching is checked below.
      const embedding = tf.tidy(() => model.predict(images(1, inputSize)) as tf.Tensor);
      expect(embedding.shape).toEqual([1, spec.embeddingSize({ inputSize, ...args })]);

      const values = embedding.dataSync();
      expect(values.every(Number.isFinite)).toBe(true);
      if (spec.normalization === 'l2') {
        const norm = tf.tidy(() => tf.norm(embedding).dataSync()[0]);
        expect(norm).toBeCloseTo(1, 5);
      }
      embedding.dispose();
    });
  }

  if (spec.normalization === 'l2-height-axis' && forward) {
    test('normalises each column along the height axis', () => {
      const before = model.getLayer('head_dense_2').output as tf.SymbolicTensor;
      const after = model.getLayer('l2_normalize').output as tf.SymbolicTensor;
      const probe = tf.model({ inputs: model.inputs, outputs: [before, after, model.outputs[0]] });
      const [rawNorms, norms, embeddingShape] = tf.tidy(() => {
        const [raw, normalised, embedding] = probe.predict(images(1, inputSize)) as tf.Tensor[];
        return [tf.norm(raw, 2, 1).dataSync(), tf.norm(normalised, 2, 1).dataSync(), embedding.shape];
      });

      expect(embeddingShape).toEqual([1, spec.embeddingSize({ inputSize, ...args })]);
      // Columns that ReLU zeroed (or nearly) stay below 1 because of the epsilon; every other one has norm 1.
      const live = [...norms].filter((_, index) => rawNorms[index] > 1e-3);
      expect(live.length).toBeGreaterThan(0);
      for (const norm of live) expect(norm).toBeCloseTo(1, 5);
    });
  }

  test('has the expected layer names', () => {
    const names = model.layers.map((layer) => layer.name);
    for (const name of layers) expect(names).toContain(name);
    for (const name of absent) expect(names).not.toContain(name);
  });

  test('freezes exactly the listed layers', () => {
    const frozen = model.layers.filter((layer) => !layer.trainable && layer.name !== 'image').map((layer) => layer.name);
    expect(frozen).toEqual([...spec.frozenLayers]);
  });
});

describe('mildnet_mobilenet', () => {
  const args = { inputSize: 32, width: 0.25, headUnits: 64 };

  test('embeds each image of a batch independently', () => {
    const model = getModel('mildnet_mobilenet').build(args);
    tf.tidy(() => {
      const batch = images(3, 32);
      const together = model.predict(batch) as tf.Tensor;
      const alone = model.predict(batch.slice([1], [1])) as tf.Tensor;
      const norms = tf.norm(together, 2, 1).arraySync() as number[];

      expect(together.shape).toEqual([3, 64]);
      for (const norm of norms) expect(norm).toBeCloseTo(1, 5);
      expect(together.slice([1], [1]).arraySync()).toEqual(alone.arraySync());
    });
    model.dispose();
  });

  test('pools the five skips and the final map', () => {
    const model = getModel('mildnet_mobilenet').build(args);
    // GAP widths at width 0.25: final 256 + conv_dw_1 8 + dw_2 16 + dw_4 32 + dw_6 64 + dw_12 128.
    expect(model.getLayer('skip_concat').outputShape).toEqual([null, 504]);
    model.dispose();
  });

  test('freezes only BatchNorm statistics', () => {
    const model = getModel('mildnet_mobilenet').build(args);
    const counts = countParameters(model);
    // Non-trainable: BatchNorm moving mean and variance, 2 per channel of every BN layer.
    const movingStatistics = model.layers
      .filter((layer) => layer.name.endsWith('_bn'))
      .reduce((sum, layer) => sum + 2 * (layer.outputShape as number[])[3], 0);
    expect(counts.total - counts.trainable).toBe(movingStatistics);
    model.dispose();
  });
});

describe.each([
  ['mildnet_mobilenet', { inputSize: 32, width: 0.25, headUnits: 64 }],
  ['alexnet', { inputSize: 67 }],
] as const)('%s dispose', (id, args) => {
  test('releases every tensor it made', () => {
    const before = tf.memory().numTensors;
    const model = getModel(id).build(args);
    expect(tf.memory().numTensors).toBeGreaterThan(before);
    tf.tidy(() => {
      model.predict(images(1, args.inputSize));
    });
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('alexnet', () => {
  test('splits conv2, conv4 and conv5 into two groups', () => {
    const model = getModel('alexnet').build({ inputSize: 67 });
    const kernelShape = (name: string): number[] => model.getLayer(name).getWeights()[0].shape;

    expect(kernelShape('conv_2_1')).toEqual([5, 5, 48, 128]);
    expect(kernelShape('conv_2_2')).toEqual([5, 5, 48, 128]);
    expect(kernelShape('conv_3')).toEqual([3, 3, 256, 384]);
    expect(kernelShape('conv_4_1')).toEqual([3, 3, 192, 192]);
    expect(kernelShape('conv_5_2')).toEqual([3, 3, 192, 128]);
    model.dispose();
  });
});

describe('registry', () => {
  test('lists every original model id', () => {
    expect(modelIds()).toEqual([
      'alexnet',
      'mildnet_1024_512',
      'mildnet_512_512',
      'mildnet_512_no_dropout',
      'mildnet_all_trainable',
      'mildnet_mobilenet',
      'mildnet_vgg16',
      'mildnet_vgg16_big',
      'mildnet_vgg16_skip_1',
      'mildnet_vgg16_skip_2',
      'mildnet_vgg16_skip_3',
      'mildnet_vgg16_skip_4',
      'mildnet_vgg19',
      'mildnet_without_skip',
      'mildnet_without_skip_big',
      'ranknet',
      'vanila_vgg16',
      'visnet_lrn2d_model',
      'visnet_model',
    ]);
  });

  test('getModel rejects an unknown id', () => {
    expect(() => getModel('vgg_42')).toThrow(/Unknown model id "vgg_42"; expected one of: .*mildnet_vgg16/);
  });

  test('build rejects an input below the minimum', () => {
    expect(() => getModel('mildnet_vgg16').build({ inputSize: 31 })).toThrow(
      /inputSize 31 is invalid; expected an integer of at least 32/,
    );
    expect(() => getModel('alexnet').build({ inputSize: 66 })).toThrow(/inputSize 66 is invalid/);
  });

  test('build rejects a fractional input size', () => {
    expect(() => getModel('mildnet_mobilenet').build({ inputSize: 64.5 })).toThrow(/inputSize 64.5 is invalid/);
  });

  test('build rejects a width on a VGG model', () => {
    expect(() => getModel('mildnet_vgg16').build({ inputSize: 32, width: 0.5 })).toThrow(/width 0.5 is not supported/);
  });

  test('build rejects a width below 1/32', () => {
    expect(() => getModel('mildnet_mobilenet').build({ inputSize: 32, width: 0.01 })).toThrow(/width 0.01 is invalid/);
  });

  test('build rejects headUnits on other models', () => {
    expect(() => getModel('visnet_model').build({ inputSize: 32, headUnits: 8 })).toThrow(
      /headUnits 8 is not supported/,
    );
  });

  test('embeddingSize follows the input size', () => {
    expect(getModel('vanila_vgg16').embeddingSize({ inputSize: 224 })).toBe(7 * 7 * 512);
    expect(getModel('mildnet_without_skip').embeddingSize({ inputSize: 224 })).toBe(7 * 7 * 1024);
    expect(getModel('mildnet_vgg16').embeddingSize({ inputSize: 100 })).toBe(2048);
  });
});
