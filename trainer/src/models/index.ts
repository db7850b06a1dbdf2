export { getModel, modelIds, registerModel } from './registry';
export type { EmbeddingNormalization, ModelBuildArgs, ModelSpec } from './types';
export { countParameters, type ParameterCounts } from './count-parameters';
export { L2Normalization, type L2NormalizationArgs } from './layers/l2-normalization';
export {
  LocalResponseNormalization,
  type LocalResponseNormalizationArgs,
} from './layers/local-response-normalization';
export { ChannelSlice, type ChannelSliceArgs } from './layers/channel-slice';
