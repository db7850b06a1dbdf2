/**
 * The trainer's data pipeline: triplet CSV files, image decoding,
 * augmentation, prefetched batches, and the Fashion-MNIST conversion.
 */
export { RGB_CHANNELS, rgbLength } from './layout';
export { Random, hashSeed } from './random';
export {
  TRIPLET_ROLES,
  TripletCsvError,
  epochOrder,
  folderClasses,
  parseTriplets,
  readTriplets,
  resolveImagePath,
  shuffleTriplets,
} from './triplets';
export type { FolderClasses, ParseTripletsArgs, Triplet, TripletRole, TripletSource } from './triplets';
export {
  DEFAULT_CACHE_BYTES,
  ImageDecodeError,
  ImageDecoder,
  decodeImageBuffer,
  decodeImageFile,
  toUnitFloat,
} from './decode';
export type { ImageCacheStats, ImageDecodeFailure, ImageDecoderArgs, ImageSource } from './decode';
export {
  NO_AUGMENTATION,
  ORIGINAL_AUGMENTATION,
  augmentImage,
  resolveAugmentArgs,
  sampleAugmentParams,
  transformImage,
} from './augment';
export type { AugmentArgs, AugmentParams, Interpolation, TransformTarget } from './augment';
export { AugmentPool } from './augment-pool';
export { DEFAULT_PREFETCH, DataSampleError, TripletBatcher, tripletBatches } from './batches';
export type { SkippedTriplet, TripletBatch, TripletBatcherArgs } from './batches';
export { csvField, formatTripletCsv, sampleTriplets } from './triplet-sampling';
export type { LabelledImage, SampledTriplet } from './triplet-sampling';
export { parseIdx, readIdxFile } from './idx';
export type { IdxArray } from './idx';
export {
  DEBIAN_FASHION_MNIST_DIR,
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEFAULTS,
  FASHION_MNIST_SPLITS,
  prepareFashionMnist,
} from './fashion-mnist';
export type {
  FashionMnistManifest,
  FashionMnistProgress,
  FashionMnistSplit,
  PrepareFashionMnistArgs,
  PrepareFashionMnistResult,
} from './fashion-mnist';
