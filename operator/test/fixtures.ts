import type { V1Job, V1Pod } from '@kubernetes/client-node';

import type { MildnetJob, MildnetJobSpec } from '../src/api/types';

/** Builds a MildnetJob as the informer cache stores it. */
export function makeMildnetJob(spec: Partial<MildnetJobSpec> = {}, name = 'exp1'): MildnetJob {
  return {
    apiVersion: 'mildnet.io/v1alpha1',
    kind: 'MildnetJob',
    metadata: { name, namespace: 'team-a', uid: 'uid-1', generation: 1, resourceVersion: '10' },
    spec: {
      preset: 'mildnet',
      data: { uri: 's3://datasets/tops' },
      output: { uri: 's3://runs/exp1' },
      ...spec,
    },
  };
}

export function makeJob(overrides: { suspend?: boolean; status?: V1Job['status'] } = {}): V1Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'exp1', namespace: 'team-a', ownerReferences: [{ apiVersion: 'mildnet.io/v1alpha1', kind: 'MildnetJob', name: 'exp1', uid: 'uid-1', controller: true }] },
    spec: { suspend: overrides.suspend ?? false, template: {} },
    status: overrides.status ?? {},
  };
}

export function makePod(phase: string, name = 'exp1-abcde'): V1Pod {
  return {
    metadata: { name, namespace: 'team-a', labels: { 'mildnet.io/mildnetjob': 'exp1' } },
    status: { phase, podIP: '127.0.0.1' },
  };
}
