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
}

const VGG16_LAYERS = ['block1_conv1', 'block3_conv3', 'block4_pool', 'block5_conv3', 'block5_pool'];
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
];

const CASES: ZooCase[] = [
  { id: 'mildnet_vgg16', layers: [...VGG16_LAYERS, 'block1_pool_gap', 'skip_concat', 'l2_normalize'] },
  { id: 'mildnet_mobilenet', layers: [...MOBILENET_LAYERS, 'conv_dw_12_relu_gap', 'skip_concat'] },
  { id: 'mildnet_mobilenet', args: { width: 0.25, headUnits: 512 }, layers: MOBILENET_LAYERS },
];

/** Random images in [0, 1], the range the data pipeline feeds. */
function images(count: number, size: number): tf.Tensor4D {
  return tf.randomUniform([count, size, size, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
}

describe.each(CASES)('model $id $args', ({ id, args, layers }) => {
  const spec = getModel(id);
  const inputSize = Math.max(32, spec.minInputSize);
  let model: tf.LayersModel;

  beforeAll(() => {
    model = spec.build({ inputSize, ...args });
  });

  afterAll(() => {
    model.dispose();
  });

  test('maps images to [N, embeddingSize]', () => {
    const embedding = tf.tidy(() => model.predict(images(2, inputSize)) as tf.Tensor);
    expect(embedding.shape).toEqual([2, spec.embeddingSize({ inputSize, ...args })]);
    if (spec.normalization === 'l2') {
      const norms = tf.tidy(() => tf.norm(embedding, 2, 1).arraySync() as number[]);
      for (const norm of norms) expect(norm).toBeCloseTo(1, 5);
    }
    embedding.dispose();
  });

  test('has the expected layer names', () => {
    const names = model.layers.map((layer) => layer.name);
    for (const name of layers) expect(names).toContain(name);
  });

  test('freezes exactly the listed layers', () => {
    const frozen = model.layers.filter((layer) => !layer.trainable && layer.name !== 'image').map((layer) => layer.name);
    expect(frozen).toEqual([...spec.frozenLayers]);
  });
});

describe('mildnet_vgg16 parameters', () => {
  test('match the original log at 224', () => {
    const model = getModel('mildnet_vgg16').build({ inputSize: 224 });
    expect(countParameters(model)).toEqual({ total: 21_927_744, trainable: 20_192_256 });
    model.dispose();
  });
});

describe('registry', () => {
  test('lists the shipped ids', () => {
    expect(modelIds()).toEqual(expect.arrayContaining(['mildnet_mobilenet', 'mildnet_vgg16']));
  });

  test('getModel rejects an unknown id', () => {
    expect(() => getModel('vgg_42')).toThrow(/Unknown model id "vgg_42"; expected one of: .*mildnet_vgg16/);
  });

  test('build rejects an input below the minimum', () => {
    expect(() => getModel('mildnet_vgg16').build({ inputSize: 31 })).toThrow(
      /inputSize 31 is invalid; expected an integer of at least 32/,
    );
  });

  test('build rejects a width on a VGG model', () => {
    expect(() => getModel('mildnet_vgg16').build({ inputSize: 32, width: 0.5 })).toThrow(/width 0.5 is not supported/);
  });

  test('build rejects a width below 1/32', () => {
    expect(() => getModel('mildnet_mobilenet').build({ inputSize: 32, width: 0.01 })).toThrow(/width 0.01 is invalid/);
  });
});
