/**
 * Loads Keras weights (such as the ImageNet files of keras.applications)
 * into a model of the zoo by layer name. The zoo names its base layers as
 * Keras applications do (`block3_conv2`, `conv_dw_6`, `conv_pw_6_bn`, …),
 * so a layer of the file and a layer of the model with the same name contain
 * the same tensors in the same order.
 */
import * as fs from 'node:fs/promises';

import * as tf from '@tensorflow/tfjs';

import { readKerasWeightFile, type KerasLayerWeights, type KerasWeightFile } from './keras-h5';
import { PretrainedWeightsError } from './pretrained-errors';

export { PretrainedWeightsError } from './pretrained-errors';

/**
 * Classifier layers with weights that an `include_top=True` file of
 * keras.applications adds to the base: fc1, fc2 and predictions for VGG,
 * conv_preds for MobileNet.
 */
const TOP_LAYERS: ReadonlySet<string> = new Set(['fc1', 'fc2', 'predictions', 'conv_preds']);

/** Layers of the MobileNet base, whose channel counts scale with the width multiplier. */
const MOBILENET_LAYER = /^conv(1|_dw_\d+|_pw_\d+)(_bn)?$/;

/** Number of layer names an error lists before it gives the count of the rest. */
const MAX_LISTED_LAYERS = 12;

export interface LoadPretrainedArgs {
  /**
   * Layers of the model's base. A base layer that the file lacks is an
   * error. Any other model layer that the file lacks (the head) keeps its
   * fresh initialisation.
   */
  baseLayers: readonly string[];
  /** Width multiplier that the model was built with, named when a MobileNet layer's channels do not match. Default 1. */
  width?: number;
}

/** Summary of a load, for the trainer's log. */
export interface PretrainedSummary {
  /** The file the weights came from. */
  source: string;
  layout: KerasWeightFile['layout'];
  /** Model layers that received weights, in model order. */
  loadedLayers: string[];
  /** Scalars assigned, over all loaded tensors. */
  loadedParameters: number;
  /** Model layers with weights that the file lacks, which keep their fresh initialisation. */
  initialisedLayers: string[];
  /** Classifier layers of an include_top file, which the model does not have and which were skipped. */
  skippedTopLayers: string[];
}

interface PlannedLayer {
  layer: tf.layers.Layer;
  fileLayer: KerasLayerWeights;
}

function listNames(names: readonly string[]): string {
  if (names.length <= MAX_LISTED_LAYERS) return names.join(', ');
  return `${names.slice(0, MAX_LISTED_LAYERS).join(', ')} and ${names.length - MAX_LISTED_LAYERS} more`;
}

function showShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function shortWeightName(variable: tf.LayerVariable): string {
  return variable.originalName.slice(variable.originalName.lastIndexOf('/') + 1);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

/** Returns the most likely reason why a file tensor's shape differs from the model's, and the fix. */
function likelyCause(layer: string, fileShape: readonly number[], modelShape: readonly number[], width: number): string {
  if (TOP_LAYERS.has(layer)) {
    return 'this is a classifier layer of an include_top file, which fits only a 224×224 input and 1000 classes; use the _notop file';
  }
  if (MOBILENET_LAYER.test(layer) && fileShape.length === modelShape.length) {
    const ratios = fileShape.flatMap((dim, i) => (dim === modelShape[i] ? [] : [dim / modelShape[i]]));
    if (ratios.length > 0 && ratios.every((ratio) => Math.abs(ratio - ratios[0]) < 1e-6)) {
      const fileWidth = Number((width * ratios[0]).toFixed(4));
      return (
        `the file was most likely saved at width multiplier ${fileWidth} but the model is built at ${width}; ` +
        `use the file for alpha ${width}, or set width_multiplier to ${fileWidth}`
      );
    }
  }
  return 'the file was saved from another architecture or configuration than this model; use the weights of the same base';
}

/** Matches the file's layers to the model's and checks every tensor's shape, without assigning anything. */
function planAssignment(
  model: tf.LayersModel,
  file: KerasWeightFile,
  source: string,
  args: LoadPretrainedArgs,
): { planned: PlannedLayer[]; skippedTopLayers: string[] } {
  const width = args.width ?? 1;
  const modelLayers = new Map(model.layers.map((layer) => [layer.name, layer]));

  const unknown = file.layers.map(({ layer }) => layer).filter((name) => !modelLayers.has(name));
  const skippedTopLayers = unknown.filter((name) => TOP_LAYERS.has(name));
  const unexpected = unknown.filter((name) => !TOP_LAYERS.has(name));
  if (unexpected.length > 0) {
    throw new PretrainedWeightsError(
      `${source} has weights for layers that model ${model.name} does not have: ${listNames(unexpected)}; ` +
        'use a weights file of the model\'s base (layer names such as block1_conv1 or conv_dw_1), not of another architecture',
    );
  }

  const planned: PlannedLayer[] = [];
  for (const fileLayer of file.layers) {
    const layer = modelLayers.get(fileLayer.layer);
    if (layer === undefined) continue;
    const variables = layer.weights;
    if (variables.length !== fileLayer.weights.length) {
      throw new PretrainedWeightsError(
        `${source}: layer ${layer.name} has ${fileLayer.weights.length} weights in the file ` +
          `(${fileLayer.weights.map((w) => w.name).join(', ') || 'none'}) but ${variables.length} in model ${model.name} ` +
          `(${variables.map(shortWeightName).join(', ') || 'none'}); the file was saved from another architecture, ` +
          'for example with a bias where the model has none; use the weights of the same base',
      );
    }
    variables.forEach((variable, i) => {
      const fileWeight = fileLayer.weights[i];
      // A variable's shape is always concrete, unlike a symbolic tensor's.
      const modelShape = variable.shape as number[];
      if (!sameShape(fileWeight.shape, modelShape)) {
        throw new PretrainedWeightsError(
          `${source}: layer ${layer.name}, weight ${shortWeightName(variable)} (${fileWeight.name} in the file) has shape ` +
            `${showShape(fileWeight.shape)} in the file but ${showShape(modelShape)} in model ${model.name}; ` +
            likelyCause(layer.name, fileWeight.shape, modelShape, width),
        );
      }
    });
    planned.push({ layer, fileLayer });
  }

  if (planned.length === 0) {
    throw new PretrainedWeightsError(`${source} has no weights for any layer of model ${model.name}; check that the file contains Keras weights of the model's base`);
  }

  const inFile = new Set(file.layers.map(({ layer }) => layer));
  const missingBase = args.baseLayers.filter((name) => {
    const layer = modelLayers.get(name);
    return layer !== undefined && layer.weights.length > 0 && !inFile.has(name);
  });
  if (missingBase.length > 0) {
    throw new PretrainedWeightsError(
      `${source} has no weights for ${missingBase.length} layers of the base of model ${model.name}: ${listNames(missingBase)}; ` +
        'the file contains only part of the base, or the weights of another base; use the complete weights file of the model\'s base',
    );
  }
  return { planned, skippedTopLayers };
}

/**
 * Assigns the weights of a parsed Keras file to the model's layers of the
 * same name. Every check runs before the first assignment, so the model is
 * unchanged when this throws. Throws a PretrainedWeightsError when the file
 * has a layer that the model lacks (except the classifier layers of an
 * include_top file, which are skipped), when a tensor's shape differs, or
 * when a base layer has no weights in the file.
 */
export function assignKerasWeights(
  model: tf.LayersModel,
  file: KerasWeightFile,
  source: string,
  args: LoadPretrainedArgs,
): PretrainedSummary {
  const { planned, skippedTopLayers } = planAssignment(model, file, source, args);

  let loadedParameters = 0;
  for (const { layer, fileLayer } of planned) {
    const tensors = fileLayer.weights.map((weight) => tf.tensor(weight.read(), weight.shape, 'float32'));
    loadedParameters += tensors.reduce((sum, tensor) => sum + tensor.size, 0);
    try {
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }

  const loaded = new Set(planned.map(({ layer }) => layer.name));
  const modelOrder = model.layers.filter((layer) => layer.weights.length > 0);
  return {
    source,
    layout: file.layout,
    loadedLayers: modelOrder.filter((layer) => loaded.has(layer.name)).map((layer) => layer.name),
    loadedParameters,
    initialisedLayers: modelOrder.filter((layer) => !loaded.has(layer.name)).map((layer) => layer.name),
    skippedTopLayers,
  };
}

/** Describes a load in one line for a terminal: what was loaded and what kept its initialisation. */
export function describePretrainedSummary(summary: PretrainedSummary): string {
  const parts = [
    `loaded ${summary.loadedLayers.length} layers (${summary.loadedParameters.toLocaleString('en-US')} parameters) from ${summary.source}`,
  ];
  if (summary.initialisedLayers.length > 0) {
    parts.push(`${summary.initialisedLayers.length} layers keep their random initialisation: ${listNames(summary.initialisedLayers)}`);
  }
  if (summary.skippedTopLayers.length > 0) {
    parts.push(`skipped the include_top classifier layers ${summary.skippedTopLayers.join(', ')}; the _notop file contains only the base`);
  }
  return parts.join('; ');
}

/**
 * Reads a Keras weights file from the local disk and assigns it to the
 * model by layer name (see assignKerasWeights).
 */
export async function loadPretrainedWeights(
  model: tf.LayersModel,
  filePath: string,
  args: LoadPretrainedArgs,
): Promise<PretrainedSummary> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(filePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PretrainedWeightsError(`The weights file ${filePath} cannot be read (${code ?? String(error)})`, { cause: error });
  }
  return assignKerasWeights(model, readKerasWeightFile(bytes, filePath), filePath, args);
}
