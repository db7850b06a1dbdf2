/**
 * The Keras applications base of each model of the zoo, the file name of
 * that base's ImageNet weights (`include_top=False`), and the base's layers
 * that have weights. File names and the published MobileNet widths
 * and sizes follow keras.applications in tf-keras 2.21 (vgg16.py, vgg19.py,
 * mobilenet.py), which caches the files in ~/.keras/models.
 */

/** A Keras applications base whose ImageNet weights the zoo can load. */
export type ImagenetBase = 'vgg16' | 'vgg19' | 'mobilenet';

/** Base of each model id, or null for alexnet, which has no Keras applications base. */
const MODEL_BASES: Readonly<Record<string, ImagenetBase | null>> = {
  alexnet: null,
  mildnet_1024_512: 'vgg16',
  mildnet_512_512: 'vgg16',
  mildnet_512_no_dropout: 'vgg16',
  mildnet_all_trainable: 'vgg16',
  mildnet_mobilenet: 'mobilenet',
  mildnet_vgg16: 'vgg16',
  mildnet_vgg16_big: 'vgg16',
  mildnet_vgg16_skip_1: 'vgg16',
  mildnet_vgg16_skip_2: 'vgg16',
  mildnet_vgg16_skip_3: 'vgg16',
  mildnet_vgg16_skip_4: 'vgg16',
  mildnet_vgg19: 'vgg19',
  mildnet_without_skip: 'vgg16',
  mildnet_without_skip_big: 'vgg16',
  ranknet: 'vgg19',
  vanila_vgg16: 'vgg16',
  visnet_lrn2d_model: 'vgg16',
  visnet_model: 'vgg16',
};

/** Width multipliers (alpha) with published MobileNet ImageNet weights, spelled as in the file names. */
const MOBILENET_ALPHAS: ReadonlyMap<number, string> = new Map([
  [1, '1_0'],
  [0.75, '7_5'],
  [0.5, '5_0'],
  [0.25, '2_5'],
]);

/** Input sizes with published MobileNet weights. Keras loads the 224 file for any other size. */
const MOBILENET_ROWS: readonly number[] = [128, 160, 192, 224];
const MOBILENET_DEFAULT_ROWS = 224;

/** Conv layers per block of the VGG bases. */
const VGG_CONVS_PER_BLOCK: Record<'vgg16' | 'vgg19', readonly number[]> = {
  vgg16: [2, 2, 3, 3, 3],
  vgg19: [2, 2, 4, 4, 4],
};
const MOBILENET_BLOCKS = 13;

/** Returns the base a model id is built on, or null when it has none (alexnet and unknown ids). */
export function imagenetBaseOf(modelId: string): ImagenetBase | null {
  return MODEL_BASES[modelId] ?? null;
}

/** Returns the model ids that MODEL_BASES covers, so that a test can keep it in step with the zoo. */
export function modelIdsWithKnownBase(): string[] {
  return Object.keys(MODEL_BASES);
}

/** Returns the names of the layers of a base that have weights, in model order. */
export function imagenetBaseLayers(base: ImagenetBase): string[] {
  if (base === 'mobilenet') {
    const names = ['conv1', 'conv1_bn'];
    for (let block = 1; block <= MOBILENET_BLOCKS; block++) {
      names.push(`conv_dw_${block}`, `conv_dw_${block}_bn`, `conv_pw_${block}`, `conv_pw_${block}_bn`);
    }
    return names;
  }
  return VGG_CONVS_PER_BLOCK[base].flatMap((convs, index) =>
    Array.from({ length: convs }, (_, conv) => `block${index + 1}_conv${conv + 1}`),
  );
}

/** Returns the names of the layers with weights of a model's base, or none for a model without a base. */
export function baseLayersOf(modelId: string): string[] {
  const base = imagenetBaseOf(modelId);
  return base === null ? [] : imagenetBaseLayers(base);
}

/** The ImageNet weights file of a model's base. */
export interface ImagenetWeightsFile {
  base: ImagenetBase;
  /** File name as Keras caches it in ~/.keras/models. */
  fileName: string;
  /** A Python command that makes Keras download the file into ~/.keras/models. */
  downloadCommand: string;
}

export interface ImagenetWeightsArgs {
  inputSize: number;
  /** Width multiplier of a MobileNet base, which VGG bases ignore. */
  width: number;
}

function mobilenetRows(inputSize: number): number {
  return MOBILENET_ROWS.includes(inputSize) ? inputSize : MOBILENET_DEFAULT_ROWS;
}

/**
 * Returns the file name of the ImageNet weights that Keras publishes for
 * the model's base. MobileNet files exist per width and input size. For an
 * input size without a file, the 224 file is named, as Keras does, because
 * the kernels do not depend on the input size. Throws a RangeError when the
 * model has no base or the width has no published weights.
 */
export function imagenetWeightsFile(modelId: string, args: ImagenetWeightsArgs): ImagenetWeightsFile {
  const base = imagenetBaseOf(modelId);
  if (base === null) {
    throw new RangeError(`Model "${modelId}" has no Keras applications base, so no ImageNet weights exist for it`);
  }
  if (base === 'vgg16' || base === 'vgg19') {
    const className = base === 'vgg16' ? 'VGG16' : 'VGG19';
    return {
      base,
      fileName: `${base}_weights_tf_dim_ordering_tf_kernels_notop.h5`,
      downloadCommand: `python -c "from tensorflow.keras.applications import ${className}; ${className}(include_top=False)"`,
    };
  }

  const alphaText = MOBILENET_ALPHAS.get(args.width);
  if (alphaText === undefined) {
    throw new RangeError(
      `MobileNet has no ImageNet weights at width multiplier ${args.width}; Keras publishes them for ${[...MOBILENET_ALPHAS.keys()].join(', ')}`,
    );
  }
  const rows = mobilenetRows(args.inputSize);
  const alpha = args.width.toFixed(2).replace(/0$/, '');
  return {
    base,
    fileName: `mobilenet_${alphaText}_${rows}_tf_no_top.h5`,
    downloadCommand:
      `python -c "from tensorflow.keras.applications import MobileNet; ` +
      `MobileNet(input_shape=(${rows}, ${rows}, 3), alpha=${alpha}, include_top=False)"`,
  };
}

/** The job-config fields that the `weights` check reads. */
export interface WeightsConfigFields {
  model_id: string;
  weights?: string;
  width_multiplier: number;
}

/**
 * Checks `weights: imagenet` against the model: the model needs a Keras
 * applications base, and a MobileNet base a width multiplier with published
 * weights. Returns one problem per invalid field, with its dotted path.
 */
export function imagenetConfigProblems(config: WeightsConfigFields): Array<{ path: string; message: string }> {
  if (config.weights !== 'imagenet') return [];

  const base = imagenetBaseOf(config.model_id);
  if (base === null) {
    return [
      {
        path: 'weights',
        message:
          `"imagenet" is not available for model_id ${config.model_id}, which has no Keras applications base; ` +
          'remove weights to start from random weights, or set it to the path or URI of an .h5 file whose layer names match the model',
      },
    ];
  }
  if (base === 'mobilenet' && !MOBILENET_ALPHAS.has(config.width_multiplier)) {
    return [
      {
        path: 'width_multiplier',
        message:
          `got ${config.width_multiplier}, which has no ImageNet weights; with weights: imagenet, set it to one of ` +
          `${[...MOBILENET_ALPHAS.keys()].join(', ')}, or remove weights`,
      },
    ];
  }
  return [];
}
