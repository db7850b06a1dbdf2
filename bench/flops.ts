import type * as tf from '@tensorflow/tfjs';

/**
 * Multiply-add FLOPs (2 per multiply-add) of one image's forward pass through
 * the convolution and Dense layers of a model. Pooling, normalisation and
 * elementwise layers are left out: they are memory-bound and small next to
 * the convolutions. A training step costs about 3 times the forward pass
 * (forward, input gradient, weight gradient).
 */
export function forwardFlopsPerImage(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const kernel = layer.getWeights(false)[0]?.shape ?? layer.weights[0]?.shape;
    if (!kernel) continue;
    const output = (Array.isArray(layer.outputShape[0]) ? layer.outputShape[0] : layer.outputShape) as Array<number | null>;
    const positions = output.slice(1, -1).reduce<number>((product, d) => product * (d ?? 1), 1);
    const name = layer.getClassName();
    if (name === 'Conv2D') {
      const [kh, kw, cin, cout] = kernel as number[];
      flops += 2 * kh * kw * cin * cout * positions;
    } else if (name === 'DepthwiseConv2D') {
      const [kh, kw, cin, multiplier] = kernel as number[];
      flops += 2 * kh * kw * cin * multiplier * positions;
    } else if (name === 'Dense') {
      const [units, outputs] = kernel as number[];
      flops += 2 * units * outputs * positions;
    }
  }
  return flops;
}
