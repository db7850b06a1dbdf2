import * as k8s from '@kubernetes/client-node';

import { GROUP, MILDNETJOB_LABEL, PLURAL, VERSION } from '../api/constants';
import type { MildnetJob } from '../api/types';
import type { OperatorMetrics } from '../metrics';
import type { Clock } from '../runtime/clock';
import { Informer, type ListWatchSource } from '../runtime/informer';
import { countRequest } from './client-node-cluster';

export interface OperatorInformers {
  mildnetJobs: Informer<MildnetJob & k8s.KubernetesObject>;
  jobs: Informer<k8s.V1Job>;
  pods: Informer<k8s.V1Pod>;
  configMaps: Informer<k8s.V1ConfigMap>;
  services: Informer<k8s.V1Service>;
}

export interface InformerFactoryArgs {
  kubeConfig: k8s.KubeConfig;
  /** Namespace to watch; undefined watches all namespaces. */
  namespace?: string;
  clock: Clock;
  metrics: OperatorMetrics;
  onError: (resource: string, err: unknown, restartInMs: number) => void;
}

/**
 * Creates the operator's informers. Child objects are watched through the
 * mildnet.io/mildnetjob label only, so the caches hold the operator's own
 * objects and not every Job and pod of the cluster.
 */
export function createInformers(args: InformerFactoryArgs): OperatorInformers {
  const { kubeConfig, namespace, metrics } = args;
  const watch = new k8s.Watch(kubeConfig);
  const batch = kubeConfig.makeApiClient(k8s.BatchV1Api);
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const labelSelector = MILDNETJOB_LABEL;
  const nsPath = namespace ? `/namespaces/${namespace}` : '';

  function make<T extends k8s.KubernetesObject>(
    resource: string,
    path: string,
    list: () => Promise<k8s.KubernetesListObject<T>>,
    selector?: string,
  ): Informer<T> {
    const countedList = () => countRequest(metrics, 'list', resource, list);
    const source = new k8s.ListWatch<T>(path, watch, countedList, false, selector);
    source.on('connect', () => metrics.apiRequestsTotal.inc({ verb: 'watch', resource }));
    return new Informer<T>(source satisfies ListWatchSource<T>, {
      resource,
      clock: args.clock,
      onError: (err, restartInMs) => {
        metrics.informerRestartsTotal.inc({ resource });
        metrics.apiErrorsTotal.inc({ verb: 'watch', resource, code: String((err as { statusCode?: number })?.statusCode ?? 'network') });
        args.onError(resource, err, restartInMs);
      },
    });
  }

  return {
    mildnetJobs: make<MildnetJob & k8s.KubernetesObject>(
      PLURAL,
      `/apis/${GROUP}/${VERSION}${nsPath}/${PLURAL}`,
      async () =>
        (namespace
          ? await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace })
          : await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as k8s.KubernetesListObject<
          MildnetJob & k8s.KubernetesObject
        >,
    ),
    jobs: make<k8s.V1Job>(
      'jobs',
      `/apis/batch/v1${nsPath}/jobs`,
      () => (namespace ? batch.listNamespacedJob({ namespace, labelSelector }) : batch.listJobForAllNamespaces({ labelSelector })),
      labelSelector,
    ),
    pods: make<k8s.V1Pod>(
      'pods',
      `/api/v1${nsPath}/pods`,
      () => (namespace ? core.listNamespacedPod({ namespace, labelSelector }) : core.listPodForAllNamespaces({ labelSelector })),
      labelSelector,
    ),
    configMaps: make<k8s.V1ConfigMap>(
      'configmaps',
      `/api/v1${nsPath}/configmaps`,
      () =>
        namespace ? core.listNamespacedConfigMap({ namespace, labelSelector }) : core.listConfigMapForAllNamespaces({ labelSelector }),
      labelSelector,
    ),
    services: make<k8s.V1Service>(
      'services',
      `/api/v1${nsPath}/services`,
      () => (namespace ? core.listNamespacedService({ namespace, labelSelector }) : core.listServiceForAllNamespaces({ labelSelector })),
      labelSelector,
    ),
  };
}
