import * as tf from '@tensorflow/tfjs';

import type { ObjectStore } from '../storage/object-store';

/**
 * Saves a model in the TensorFlow.js layers format (model.json plus one
 * weights file) under a prefix of the store, so that `tf.loadLayersModel`
 * reads it back. model.json is written last: a reader that finds it also
 * finds the weights.
 */
export async function saveLayersModel(model: tf.LayersModel, store: ObjectStore, prefix: string): Promise<number> {
  let bytes = 0;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData
        ? Buffer.from(
            Array.isArray(artifacts.weightData) ? tf.io.concatenateArrayBuffers(artifacts.weightData) : artifacts.weightData,
          )
        : Buffer.alloc(0);
      await store.put(`${prefix}/weights.bin`, weights);
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      const json = JSON.stringify(modelJson);
      await store.put(`${prefix}/model.json`, json);
      bytes = weights.length + Buffer.byteLength(json);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.length } };
    }),
  );
  return bytes;
}

/** Loads a model saved by saveLayersModel from the store. */
export async function loadLayersModel(store: ObjectStore, prefix: string): Promise<tf.LayersModel> {
  const modelJson = JSON.parse((await store.get(`${prefix}/model.json`)).toString('utf8')) as tf.io.ModelJSON;
  const weights = await store.get(`${prefix}/weights.bin`);
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((group) => group.weights),
      weightData,
    }),
  );
}
