import { randomBytes } from 'node:crypto';

import type { CoreV1Event } from '@kubernetes/client-node';

import { API_VERSION, KIND } from '../api/constants';
import type { MildnetJob } from '../api/types';

export const EVENT_SOURCE = 'mildnet-operator';

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Renders a core/v1 Event about a MildnetJob. */
export function renderEvent(mj: MildnetJob, spec: EventSpec, now: Date): CoreV1Event {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${mj.metadata.name}.${randomBytes(8).toString('hex')}`,
      namespace: mj.metadata.namespace,
    },
    involvedObject: {
      apiVersion: API_VERSION,
      kind: KIND,
      name: mj.metadata.name,
      namespace: mj.metadata.namespace,
      uid: mj.metadata.uid,
      resourceVersion: mj.metadata.resourceVersion,
    },
    type: spec.type,
    reason: spec.reason,
    // The API server rejects messages longer than 1 KiB.
    message: spec.message.length > 1024 ? `${spec.message.slice(0, 1021)}...` : spec.message,
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: EVENT_SOURCE },
    reportingComponent: EVENT_SOURCE,
    reportingInstance: EVENT_SOURCE,
  };
}
