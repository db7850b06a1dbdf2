import * as tf from '@tensorflow/tfjs';
import { applyVgg, VGG_MIN_INPUT_SIZE, vggOutputSide } from '../bases/vgg';
import { defineModel } from '../define';
import { applyFlatten, imageInput } from '../heads';
import type { ModelSpec } from '../types';

/**
 * Builds vanila_vgg16 (the original's spelling): the raw block5_pool map of
 * a trainable VGG16, not normalised.
 *
 * Porting note: the original's "embedding" was the [s/32, s/32, 512] map
 * itself. This port flattens it to [N, (s/32)²·512] so that the losses see a
 * 2-D embedding.
 */
function buildVanilaVgg16(inputSize: number): tf.LayersModel {
  const input = imageInput(inputSize);
  const vgg = applyVgg(input, { depth: 16 });
  const output = applyFlatten(vgg.output, 'embedding_flatten');
  return tf.model({ name: 'vanila_vgg16', inputs: input, outputs: output });
}

export const vanilaModels: ModelSpec[] = [
  defineModel({
    id: 'vanila_vgg16',
    description: 'VGG16 (trainable), the raw block5_pool map flattened, not normalised',
    defaultInputSize: 224,
    minInputSize: VGG_MIN_INPUT_SIZE,
    normalization: 'none',
    frozenLayers: [],
    embeddingSize: ({ inputSize }) => vggOutputSide(inputSize) ** 2 * 512,
    build: ({ inputSize }) => buildVanilaVgg16(inputSize),
  }),
];
