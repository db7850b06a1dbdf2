import type { V1EnvFromSource, V1Job, V1ResourceRequirements } from '@kubernetes/client-node';

import {
  CONFIG_FILE_NAME,
  CONFIG_HASH_ANNOTATION,
  CONFIG_MOUNT_DIR,
  GPU_RESOURCE,
  KUEUE_QUEUE_LABEL,
  METRICS_PORT,
  METRICS_PORT_NAME,
  TRAINER_CONTAINER,
} from '../api/constants';
import type { MildnetJob } from '../api/types';
import { podFailurePolicy } from '../policies/failure-policy';
import { desiredJobSuspend } from '../policies/suspend-policy';
import { configHash, configYaml } from './configmap';
import { childLabels, configMapName, controllerReference, jobName } from './names';
import type { ResolvedSpec } from './resolve';

export const DEFAULT_BACKOFF_LIMIT = 3;

/** Returns the trainer's arguments, fixed by the trainer's command-line contract. */
export function trainerArgs(mj: MildnetJob, metricsPort: number = METRICS_PORT): string[] {
  return [
    'train',
    '--config',
    `${CONFIG_MOUNT_DIR}/${CONFIG_FILE_NAME}`,
    '--data',
    mj.spec.data.uri,
    '--job-dir',
    mj.spec.output.uri,
    '--metrics-port',
    String(metricsPort),
    '--metrics-host',
    '$(POD_IP)',
  ];
}

function resources(mj: MildnetJob): V1ResourceRequirements {
  const spec = mj.spec.resources ?? {};
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (spec.cpu !== undefined) requests.cpu = String(spec.cpu);
  if (spec.memory !== undefined) {
    requests.memory = String(spec.memory);
    limits.memory = String(spec.memory);
  }
  // Extended resources such as GPUs must have equal requests and limits.
  if (spec.gpus !== undefined && spec.gpus > 0) {
    requests[GPU_RESOURCE] = String(spec.gpus);
    limits[GPU_RESOURCE] = String(spec.gpus);
  }
  return {
    ...(Object.keys(requests).length > 0 ? { requests } : {}),
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
}

/** Storage credentials: each distinct Secret once, data before output. */
function envFrom(mj: MildnetJob): V1EnvFromSource[] {
  const names = [mj.spec.data.secretRef?.name, mj.spec.output.secretRef?.name].filter((n): n is string => !!n);
  return [...new Set(names)].map((name) => ({ secretRef: { name } }));
}

/** Renders the batch/v1 Job that runs one trainer pod for a MildnetJob. */
export function renderJob(mj: MildnetJob, resolved: ResolvedSpec, metricsPort: number = METRICS_PORT): V1Job {
  const labels = childLabels(mj);
  const runPolicy = mj.spec.runPolicy ?? {};
  const jobLabels = mj.spec.queueName ? { ...labels, [KUEUE_QUEUE_LABEL]: mj.spec.queueName } : labels;

  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobName(mj),
      namespace: mj.metadata.namespace,
      labels: jobLabels,
      ownerReferences: [controllerReference(mj)],
    },
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: runPolicy.backoffLimit ?? DEFAULT_BACKOFF_LIMIT,
      ...(runPolicy.activeDeadlineSeconds !== undefined ? { activeDeadlineSeconds: runPolicy.activeDeadlineSeconds } : {}),
      suspend: desiredJobSuspend(mj, undefined),
      podFailurePolicy: podFailurePolicy(),
      // A replacement pod starts only after the failed one has stopped, so two
      // trainers never write checkpoints to the same job dir at once.
      podReplacementPolicy: 'Failed',
      template: {
        metadata: {
          labels,
          annotations: { [CONFIG_HASH_ANNOTATION]: configHash(configYaml(resolved.config)) },
        },
        spec: {
          restartPolicy: 'Never',
          // The operator collects progress over HTTP, so the trainer needs no API access.
          automountServiceAccountToken: false,
          ...(Object.keys(resolved.nodeSelector).length > 0 ? { nodeSelector: resolved.nodeSelector } : {}),
          ...(mj.spec.tolerations ? { tolerations: mj.spec.tolerations } : {}),
          ...(mj.spec.affinity ? { affinity: mj.spec.affinity } : {}),
          ...(mj.spec.priorityClassName ? { priorityClassName: mj.spec.priorityClassName } : {}),
          containers: [
            {
              name: TRAINER_CONTAINER,
              image: resolved.image,
              command: ['mildnet'],
              args: trainerArgs(mj, metricsPort),
              env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }],
              ...(envFrom(mj).length > 0 ? { envFrom: envFrom(mj) } : {}),
              ports: [{ name: METRICS_PORT_NAME, containerPort: metricsPort, protocol: 'TCP' }],
              resources: resources(mj),
              volumeMounts: [{ name: 'config', mountPath: CONFIG_MOUNT_DIR, readOnly: true }],
            },
          ],
          volumes: [{ name: 'config', configMap: { name: configMapName(mj) } }],
        },
      },
    },
  };
}
