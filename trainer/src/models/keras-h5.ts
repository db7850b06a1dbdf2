/**
 * Reads the weights of a Keras HDF5 file, in either of two layouts:
 *
 * - Keras 2 (`save_weights('x.h5')`, and every keras-applications file):
 *   the root attribute `layer_names` lists the layers, and each layer's
 *   group has the attribute `weight_names` with dataset paths relative to
 *   it, such as `block1_conv1/kernel:0`. A file written by `model.save`
 *   keeps the same layout in its `model_weights` group. Keras splits an
 *   attribute longer than 64 KB into `layer_names0`, `layer_names1`, …
 * - Keras 3 (`save_weights('x.weights.h5')`): groups `layers/<class>/vars`
 *   with the datasets `0`, `1`, … and the layer's name in the `name`
 *   attribute of `vars`.
 *
 * In both layouts a layer's weights come in Keras's order: kernel then bias,
 * BatchNormalization gamma, beta, moving mean, moving variance.
 */
import * as hdf5 from 'jsfive';

import { PretrainedWeightsError } from './pretrained-errors';

/** One weight tensor of a layer, read on demand. */
export interface KerasWeight {
  /** Name in the file, such as `block1_conv1/kernel:0`, or `<layer>/<index>` in a Keras 3 file. */
  name: string;
  shape: number[];
  /** Reads the values as float32 in row-major order. */
  read(): Float32Array;
}

export interface KerasLayerWeights {
  layer: string;
  weights: KerasWeight[];
}

export interface KerasWeightFile {
  /** Layout of the file: `keras2` for the legacy HDF5 layout, `keras3` for a Keras 3 `.weights.h5` file. */
  layout: 'keras2' | 'keras3';
  /** The file's `keras_version` attribute, which only Keras 2 files have. */
  kerasVersion?: string;
  /** Layers that have at least one weight, in file order. */
  layers: KerasLayerWeights[];
}

/** HDF5 types whose values convert to float32 without loss of meaning. */
const FLOAT_DTYPES = new Set(['<f4', '<f8', '>f4', '>f8']);

function describeThrown(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown).trim();
}

function stringList(value: hdf5.AttributeValue | undefined): string[] {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.filter((item): item is string => typeof item === 'string');
}

function attributeString(group: hdf5.Group, name: string): string | undefined {
  const value = group.attrs[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Returns a string-list attribute, or undefined when the group has none.
 * Joins the chunks `name0`, `name1`, … that Keras writes when the list does
 * not fit in one HDF5 object header.
 */
function chunkedStringAttribute(group: hdf5.Group, name: string): string[] | undefined {
  const attrs = group.attrs;
  if (name in attrs) return stringList(attrs[name]);
  if (!(`${name}0` in attrs)) return undefined;

  const values: string[] = [];
  for (let chunk = 0; `${name}${chunk}` in attrs; chunk++) values.push(...stringList(attrs[`${name}${chunk}`]));
  return values;
}

function child(group: hdf5.Group, name: string, source: string): hdf5.Group | hdf5.Dataset {
  try {
    return group.get(name);
  } catch (thrown) {
    throw new PretrainedWeightsError(`${source}: ${group.name}/${name} cannot be read (${describeThrown(thrown)}); the file is damaged or not a Keras weights file`);
  }
}

function childGroup(group: hdf5.Group, name: string, source: string): hdf5.Group {
  const entry = child(group, name, source);
  if (!(entry instanceof hdf5.Group)) {
    throw new PretrainedWeightsError(`${source}: ${group.name}/${name} is a dataset where a group was expected; the file is not a Keras weights file`);
  }
  return entry;
}

function weightFromDataset(dataset: hdf5.Dataset, name: string, source: string): KerasWeight {
  const dtype = typeof dataset.dtype === 'string' ? dataset.dtype : JSON.stringify(dataset.dtype);
  if (!FLOAT_DTYPES.has(dtype)) {
    throw new PretrainedWeightsError(`${source}: weight ${name} has the type ${dtype}; expected float32 or float64 values`);
  }
  return {
    name,
    shape: [...dataset.shape],
    read: () => Float32Array.from(dataset.value),
  };
}

function readKeras2Layers(root: hdf5.Group, layerNames: readonly string[], source: string): KerasLayerWeights[] {
  const layers: KerasLayerWeights[] = [];
  for (const layer of layerNames) {
    const group = childGroup(root, layer, source);
    const weightNames = chunkedStringAttribute(group, 'weight_names') ?? [];
    const weights = weightNames.map((name) => {
      const dataset = child(group, name, source);
      if (!(dataset instanceof hdf5.Dataset)) {
        throw new PretrainedWeightsError(`${source}: weight ${layer}/${name} is not a dataset; the file is not a Keras weights file`);
      }
      return weightFromDataset(dataset, name, source);
    });
    if (weights.length > 0) layers.push({ layer, weights });
  }
  return layers;
}

/** Collects every `vars` group below `group` that contains at least one dataset. */
function findKeras3Vars(group: hdf5.Group, source: string, found: hdf5.Group[]): void {
  for (const name of group.keys) {
    const entry = child(group, name, source);
    if (!(entry instanceof hdf5.Group)) continue;
    if (name === 'vars') {
      if (entry.keys.length > 0) found.push(entry);
    } else {
      findKeras3Vars(entry, source, found);
    }
  }
}

function readKeras3Layers(root: hdf5.Group, source: string): KerasLayerWeights[] {
  const varsGroups: hdf5.Group[] = [];
  findKeras3Vars(childGroup(root, 'layers', source), source, varsGroups);

  return varsGroups.map((vars) => {
    const layer = attributeString(vars, 'name');
    if (layer === undefined) {
      throw new PretrainedWeightsError(
        `${source}: ${vars.name} has no "name" attribute, so its weights cannot be matched to a layer by name; ` +
          'save them with a Keras 3 release that records layer names (3.15 does), or in the Keras 2 HDF5 layout',
      );
    }
    // Keras 3 numbers the weights 0, 1, … in the layer's own order.
    const indices = vars.keys.map(Number).filter(Number.isInteger).sort((a, b) => a - b);
    const weights = indices.map((index) => {
      const dataset = child(vars, String(index), source);
      if (!(dataset instanceof hdf5.Dataset)) {
        throw new PretrainedWeightsError(`${source}: ${vars.name}/${index} is not a dataset; the file is not a Keras weights file`);
      }
      return weightFromDataset(dataset, `${layer}/${index}`, source);
    });
    return { layer, weights };
  });
}

/**
 * Parses the bytes of a Keras HDF5 weights file. `source` names the file in
 * error messages. Throws a PretrainedWeightsError when the bytes are not
 * HDF5 or the file has neither Keras layout.
 */
export function readKerasWeightFile(bytes: Uint8Array, source: string): KerasWeightFile {
  let file: hdf5.File;
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    file = new hdf5.File(buffer, source);
  } catch (thrown) {
    throw new PretrainedWeightsError(
      `${source} is not a readable HDF5 file (${describeThrown(thrown)}); expected Keras weights saved with save_weights, such as vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`,
    );
  }

  let root: hdf5.Group = file;
  if (chunkedStringAttribute(file, 'layer_names') === undefined && file.keys.includes('model_weights')) {
    root = childGroup(file, 'model_weights', source);
  }

  const layerNames = chunkedStringAttribute(root, 'layer_names');
  if (layerNames !== undefined) {
    if (attributeString(root, 'backend') === 'theano') {
      throw new PretrainedWeightsError(
        `${source} was saved with the Theano backend, whose convolution kernels are flipped; use the TensorFlow ("tf_kernels") file`,
      );
    }
    return { layout: 'keras2', kerasVersion: attributeString(root, 'keras_version'), layers: readKeras2Layers(root, layerNames, source) };
  }
  if (file.keys.includes('layers')) {
    return { layout: 'keras3', layers: readKeras3Layers(file, source) };
  }
  throw new PretrainedWeightsError(
    `${source} is an HDF5 file but not Keras weights: it has neither the layer_names attribute of Keras 2 files nor the layers group of Keras 3 .weights.h5 files`,
  );
}
