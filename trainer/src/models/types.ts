import type * as tf from '@tensorflow/tfjs';

/** Options every model builder accepts. */
export interface ModelBuildArgs {
  /** Height and width of the square RGB input, in pixels. */
  inputSize: number;
  /**
   * Width multiplier of the MobileNet base (Keras's `alpha`): every conv
   * layer of the base gets `floor(filters * width)` filters. Default 1.
   * Only `mildnet_mobilenet` accepts it; other models reject any value but 1.
   */
  width?: number;
  /**
   * Units of the two hidden Dense layers of the `mildnet_mobilenet` head.
   * Default 1024, the original's. Other models reject this option.
   */
  headUnits?: number;
  /** Dropout rate between the two Dense layers of the `mildnet_mobilenet` head. Default 0.5, the original's. */
  headDropout?: number;
  /**
   * Momentum of the BatchNormalization moving averages, 0.99 by default as
   * in Keras. Lower values suit short runs: after n steps the averages still
   * weigh their initial values by momentumⁿ. Only `mildnet_mobilenet` has
   * BatchNormalization; other models reject any value but the default.
   */
  batchNormMomentum?: number;
}

/**
 * Normalisation of a model's output:
 * - `l2`: each embedding row has L2 norm 1.
 * - `l2-height-axis`: the model applies Dense layers at every position of an
 *   [h, w, c] feature map and normalises along the height axis, as the
 *   original did. Each (w, c) column over h has norm 1 before flattening.
 * - `none`: raw features.
 */
export type EmbeddingNormalization = 'l2' | 'l2-height-axis' | 'none';

/**
 * A model of the zoo. Every model maps a batch of images [N, size, size, 3],
 * scaled to [0, 1], to embeddings [N, embeddingSize]. The original fed the
 * same image to three inputs so that its multi-scale models could read it in
 * their shallow branches. One input fed to every branch computes the same.
 */
export interface ModelSpec {
  id: string;
  description: string;
  /** Input size the original trained at (224, or 227 for AlexNet). */
  defaultInputSize: number;
  /** Smallest input size the architecture accepts. */
  minInputSize: number;
  normalization: EmbeddingNormalization;
  /**
   * Names of the layers built with `trainable = false`, in model order. The
   * input layer, which has no weights, is not listed.
   */
  frozenLayers: readonly string[];
  /** Embedding length the model produces at this input size (and width). */
  embeddingSize(args: ModelBuildArgs): number;
  /** Builds a new model with freshly initialised weights. */
  build(args: ModelBuildArgs): tf.LayersModel;
}
