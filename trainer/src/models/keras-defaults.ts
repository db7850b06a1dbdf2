/**
 * Kernel initialiser of Keras's Conv2D, DepthwiseConv2D and Dense layers.
 *
 * Porting note: tfjs-layers 4.22 defaults these layers to `glorotNormal`
 * (truncated normal); Keras uses Glorot uniform. Every layer of the zoo sets
 * it explicitly so that a fresh model starts from the same distribution as
 * the original.
 */
export const KERAS_KERNEL_INITIALIZER = 'glorotUniform';
