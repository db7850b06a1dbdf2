import { createHash } from 'node:crypto';

import type { V1ConfigMap } from '@kubernetes/client-node';
import { stringify } from 'yaml';

import { CONFIG_FILE_NAME, CONFIG_HASH_ANNOTATION } from '../api/constants';
import type { JobConfig, MildnetJob } from '../api/types';
import { childLabels, configMapName, controllerReference } from './names';

/** Serialises a resolved config as the trainer reads it, keys sorted so the text is stable. */
export function configYaml(config: JobConfig): string {
  return stringify(config, { sortMapEntries: true });
}

export function configHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** Renders the ConfigMap that contains config.yaml, mounted into the trainer at /etc/mildnet/config. */
export function renderConfigMap(mj: MildnetJob, config: JobConfig): V1ConfigMap {
  const text = configYaml(config);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: configMapName(mj),
      namespace: mj.metadata.namespace,
      labels: childLabels(mj),
      annotations: { [CONFIG_HASH_ANNOTATION]: configHash(text) },
      ownerReferences: [controllerReference(mj)],
    },
    data: { [CONFIG_FILE_NAME]: text },
  };
}
