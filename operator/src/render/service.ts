import type { V1Service } from '@kubernetes/client-node';

import { METRICS_PORT, METRICS_PORT_NAME, MILDNETJOB_LABEL } from '../api/constants';
import type { MildnetJob } from '../api/types';
import { childLabels, controllerReference, serviceName } from './names';

/**
 * Renders a headless Service selecting the trainer pods, so Prometheus can
 * discover their metrics port through the endpoints. It also publishes pods
 * that are not ready, because the trainer serves metrics before its first step.
 */
export function renderService(mj: MildnetJob, metricsPort: number = METRICS_PORT): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: serviceName(mj),
      namespace: mj.metadata.namespace,
      labels: childLabels(mj),
      ownerReferences: [controllerReference(mj)],
    },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: { [MILDNETJOB_LABEL]: mj.metadata.name },
      ports: [{ name: METRICS_PORT_NAME, port: metricsPort, targetPort: METRICS_PORT_NAME, protocol: 'TCP' }],
    },
  };
}
