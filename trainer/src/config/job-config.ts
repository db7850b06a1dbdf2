/**
 * The job config type, mirroring job_configs/schema.json. Every optional
 * field of the schema is filled with its default after loading.
 */
export type ModelId =
  | 'alexnet'
  | 'mildnet_1024_512'
  | 'mildnet_512_512'
  | 'mildnet_512_no_dropout'
  | 'mildnet_all_trainable'
  | 'mildnet_mobilenet'
  | 'mildnet_vgg16'
  | 'mildnet_vgg16_big'
  | 'mildnet_vgg16_skip_1'
  | 'mildnet_vgg16_skip_2'
  | 'mildnet_vgg16_skip_3'
  | 'mildnet_vgg16_skip_4'
  | 'mildnet_vgg19'
  | 'mildnet_without_skip'
  | 'mildnet_without_skip_big'
  | 'ranknet'
  | 'vanila_vgg16'
  | 'visnet_lrn2d_model'
  | 'visnet_model';

export type LossId =
  | 'hinge_loss'
  | 'hinge_new_loss'
  | 'contrastive_loss'
  | 'lossless_loss'
  | 'angular_loss_1'
  | 'angular_loss_2';

export interface AugmentationConfig {
  enabled: boolean;
  flip_horizontal: boolean;
  flip_vertical: boolean;
  zoom_range: number;
  shear_range: number;
  rotation_range: number;
}

export interface CheckpointConfig {
  every_steps: number;
  keep_last: number;
}

export type TripletMiningStrategy = 'none' | 'batch_hard' | 'semi_hard';

export type TripletMiningLabels = 'pairs' | 'folders';

export interface TripletMiningConfig {
  strategy: TripletMiningStrategy;
  labels: TripletMiningLabels;
}

export interface JobConfig {
  description?: string;
  model_id: ModelId;
  loss: LossId;
  optimizer: 'mo' | 'rms';
  lr: number;
  lr_schedule: 'constant' | 'cosine';
  epochs: number;
  batch_size: number;
  train_csv: string;
  val_csv: string;
  images: string;
  input_size: number;
  width_multiplier: number;
  head_units: number;
  head_dropout: number;
  batch_norm_momentum: number;
  /**
   * Initial weights of the base: `imagenet` or the path or URI of a Keras
   * .h5 weights file. Absent means random initialisation.
   */
  weights?: string;
  seed: number;
  margin: number;
  augmentation: AugmentationConfig;
  skip_bad_samples: boolean;
  compat: 'fixed' | 'reference';
  checkpoint: CheckpointConfig;
  triplet_mining: TripletMiningConfig;
}
