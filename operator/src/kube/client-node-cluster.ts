import * as k8s from '@kubernetes/client-node';

import { GROUP, PLURAL, VERSION } from '../api/constants';
import type { MildnetJob } from '../api/types';
import type { OperatorMetrics } from '../metrics';
import type { ChildKind, ClusterClient } from './cluster';
import { isNotFound, statusCodeOf } from './errors';

/** Counts a request and, when it fails, the error, then passes the result through. */
export async function countRequest<T>(
  metrics: OperatorMetrics,
  verb: string,
  resource: string,
  call: () => Promise<T>,
): Promise<T> {
  metrics.apiRequestsTotal.inc({ verb, resource });
  try {
    return await call();
  } catch (err) {
    metrics.apiErrorsTotal.inc({ verb, resource, code: String(statusCodeOf(err) ?? 'network') });
    throw err;
  }
}

/** ClusterClient on @kubernetes/client-node 1.x, counting every request in the operator's metrics. */
export class ClientNodeCluster implements ClusterClient {
  private readonly batch: k8s.BatchV1Api;
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly metrics: OperatorMetrics,
  ) {
    this.batch = kubeConfig.makeApiClient(k8s.BatchV1Api);
    this.core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  }

  async readOwnerReferences(kind: ChildKind, namespace: string, name: string): Promise<k8s.V1OwnerReference[] | undefined> {
    const read: Record<ChildKind, () => Promise<k8s.KubernetesObject>> = {
      jobs: () => this.batch.readNamespacedJob({ namespace, name }),
      configmaps: () => this.core.readNamespacedConfigMap({ namespace, name }),
      services: () => this.core.readNamespacedService({ namespace, name }),
    };
    try {
      const obj = await countRequest(this.metrics, 'get', kind, read[kind]);
      return obj.metadata?.ownerReferences ?? [];
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  createJob(job: k8s.V1Job): Promise<k8s.V1Job> {
    const namespace = job.metadata!.namespace!;
    return countRequest(this.metrics, 'create', 'jobs', () => this.batch.createNamespacedJob({ namespace, body: job }));
  }

  async setJobSuspend(namespace: string, name: string, suspend: boolean): Promise<void> {
    const body = [{ op: 'replace', path: '/spec/suspend', value: suspend }];
    await countRequest(this.metrics, 'patch', 'jobs', () => this.batch.patchNamespacedJob({ namespace, name, body }));
  }

  createConfigMap(configMap: k8s.V1ConfigMap): Promise<k8s.V1ConfigMap> {
    const namespace = configMap.metadata!.namespace!;
    return countRequest(this.metrics, 'create', 'configmaps', () =>
      this.core.createNamespacedConfigMap({ namespace, body: configMap }),
    );
  }

  replaceConfigMap(configMap: k8s.V1ConfigMap): Promise<k8s.V1ConfigMap> {
    const { namespace, name } = configMap.metadata as { namespace: string; name: string };
    return countRequest(this.metrics, 'update', 'configmaps', () =>
      this.core.replaceNamespacedConfigMap({ namespace, name, body: configMap }),
    );
  }

  createService(service: k8s.V1Service): Promise<k8s.V1Service> {
    const namespace = service.metadata!.namespace!;
    return countRequest(this.metrics, 'create', 'services', () => this.core.createNamespacedService({ namespace, body: service }));
  }

  async replaceMildnetJobStatus(mj: MildnetJob): Promise<MildnetJob> {
    const { namespace, name } = mj.metadata;
    const updated: unknown = await countRequest(this.metrics, 'update', 'mildnetjobs/status', () =>
      this.custom.replaceNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: mj }),
    );
    return updated as MildnetJob;
  }

  async deleteMildnetJob(namespace: string, name: string, uid: string): Promise<void> {
    const body: k8s.V1DeleteOptions = { preconditions: { uid }, propagationPolicy: 'Background' };
    await countRequest(this.metrics, 'delete', 'mildnetjobs', () =>
      this.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body }),
    );
  }

  async createEvent(event: k8s.CoreV1Event): Promise<void> {
    const namespace = event.metadata.namespace!;
    await countRequest(this.metrics, 'create', 'events', () => this.core.createNamespacedEvent({ namespace, body: event }));
  }
}
