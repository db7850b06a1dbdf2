import type { CoreV1Event, V1ConfigMap, V1Job, V1OwnerReference, V1Service } from '@kubernetes/client-node';

import type { MildnetJob } from '../api/types';

/** Child object kinds, by resource name. */
export type ChildKind = 'jobs' | 'configmaps' | 'services';

/** The writes the reconciler makes; reads come from informer caches, except readOwnerReferences. */
export interface ClusterClient {
  /** Reads a child object's owner references from the server; undefined when the object does not exist. */
  readOwnerReferences(kind: ChildKind, namespace: string, name: string): Promise<V1OwnerReference[] | undefined>;
  createJob(job: V1Job): Promise<V1Job>;
  /** Sets spec.suspend of a Job with a JSON patch. */
  setJobSuspend(namespace: string, name: string, suspend: boolean): Promise<void>;
  createConfigMap(configMap: V1ConfigMap): Promise<V1ConfigMap>;
  replaceConfigMap(configMap: V1ConfigMap): Promise<V1ConfigMap>;
  createService(service: V1Service): Promise<V1Service>;
  /** Replaces the status subresource; fails with 409 when metadata.resourceVersion is stale. */
  replaceMildnetJobStatus(mj: MildnetJob): Promise<MildnetJob>;
  /** Deletes a MildnetJob if its uid still matches; children go by garbage collection. */
  deleteMildnetJob(namespace: string, name: string, uid: string): Promise<void>;
  createEvent(event: CoreV1Event): Promise<void>;
}

/** Read access to one informer cache. */
export interface Lister<T> {
  get(name: string, namespace?: string): T | undefined;
  list(namespace?: string): readonly T[];
}
