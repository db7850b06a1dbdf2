import * as tf from '@tensorflow/tfjs';
import { applyMobilenet, MOBILENET_MIN_INPUT_SIZE } from '../bases/mobilenet';
import { defineModel } from '../define';
import { applyDenseHead, applyL2, imageInput, poolAndConcatenate } from '../heads';
import type { ResolvedBuildArgs } from '../build-args';
import type { ModelSpec } from '../types';

/** Depthwise blocks whose ReLU output feeds a skip. */
const SKIP_BLOCKS = [1, 2, 4, 6, 12];

/**
 * Builds mildnet_mobilenet: a Keras MobileNet v1 base with skips from the
 * ReLU outputs of depthwise blocks 1, 2, 4, 6 and 12. Each skip and the final
 * map are average-pooled and concatenated (2016·width features), then
 * Dense(headUnits, ReLU) → Dropout(headDropout) → Dense(headUnits, ReLU) → L2.
 *
 * Porting note: the original computed this concatenation and then replaced
 * it with the GAP of the final map alone, so its model had no skips. This
 * port builds the skips the design describes.
 */
function buildMildnetMobilenet({ inputSize, width, headUnits, headDropout, batchNormMomentum }: ResolvedBuildArgs): tf.LayersModel {
  const input = imageInput(inputSize);
  const tapNames = SKIP_BLOCKS.map((id) => `conv_dw_${id}_relu`);
  const base = applyMobilenet(input, width, tapNames, batchNormMomentum);

  const skips = tapNames.map((name) => ({ name, tensor: base.taps.get(name) as tf.SymbolicTensor }));
  const features = poolAndConcatenate({ name: 'conv_pw_13_relu', tensor: base.output }, skips);
  const hidden = applyDenseHead(features, { units: [headUnits, headUnits], dropout: headDropout, prefix: 'head' });
  const output = applyL2(hidden, 'l2_normalize');

  return tf.model({ name: 'mildnet_mobilenet', inputs: input, outputs: output });
}

export const mobilenetModels: ModelSpec[] = [
  defineModel({
    id: 'mildnet_mobilenet',
    description:
      'MobileNet v1 (randomly initialised, all trainable); GAP of conv_pw_13_relu and of conv_dw_{1,2,4,6,12}_relu → Dense 1024 → Dropout 0.5 → Dense 1024 → L2. Options: width (alpha), headUnits, headDropout, batchNormMomentum',
    defaultInputSize: 224,
    minInputSize: MOBILENET_MIN_INPUT_SIZE,
    normalization: 'l2',
    frozenLayers: [],
    acceptsWidth: true,
    acceptsHeadUnits: true,
    acceptsBatchNormMomentum: true,
    embeddingSize: ({ headUnits }) => headUnits,
    build: buildMildnetMobilenet,
  }),
];
