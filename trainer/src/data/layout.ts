/**
 * Pixel layout shared by the data modules: RGB images stored row by row,
 * height × width × channel (HWC, "channels last", as TensorFlow.js expects).
 */
export const RGB_CHANNELS = 3;

/** Returns the number of values in an RGB image of height × width pixels. */
export function rgbLength(height: number, width: number): number {
  return height * width * RGB_CHANNELS;
}
