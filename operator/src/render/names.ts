import { API_VERSION, KIND, MILDNETJOB_LABEL } from '../api/constants';
import type { MildnetJob } from '../api/types';
import type { V1OwnerReference } from '@kubernetes/client-node';

/** Child object names are derived from the MildnetJob name, so a restart finds the same objects. */
export function jobName(mj: MildnetJob): string {
  return mj.metadata.name;
}

export function configMapName(mj: MildnetJob): string {
  return `${mj.metadata.name}-config`;
}

export function serviceName(mj: MildnetJob): string {
  return `${mj.metadata.name}-metrics`;
}

/** Labels on every child object and on the pods. */
export function childLabels(mj: MildnetJob): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'mildnet-trainer',
    'app.kubernetes.io/managed-by': 'mildnet-operator',
    [MILDNETJOB_LABEL]: mj.metadata.name,
  };
}

/** Owner reference that makes the MildnetJob the controller of a child, so deletion cascades. */
export function controllerReference(mj: MildnetJob): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    name: mj.metadata.name,
    uid: mj.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** True when the object's controller reference points at this MildnetJob. */
export function isControlledBy(owners: readonly V1OwnerReference[] | undefined, mj: MildnetJob): boolean {
  return (owners ?? []).some((ref) => ref.controller === true && ref.uid === mj.metadata.uid);
}
