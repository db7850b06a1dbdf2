import * as k8s from '@kubernetes/client-node';

import type { OperatorMetrics } from '../metrics';
import type { LeaseClient, LeaseRecord } from '../runtime/leader-election';
import { countRequest } from './client-node-cluster';
import { isNotFound } from './errors';

function toDate(value: unknown): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const date = new Date(value as string | Date);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Lease times are MicroTime, which the API server parses only with six fractional digits. */
function micro(date: Date | undefined): k8s.V1MicroTime | undefined {
  return date ? new k8s.V1MicroTime(date.getTime()) : undefined;
}

/** LeaseClient for one coordination.k8s.io/v1 Lease. */
export class KubeLeaseClient implements LeaseClient {
  private readonly api: k8s.CoordinationV1Api;

  constructor(
    kubeConfig: k8s.KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
    private readonly metrics: OperatorMetrics,
  ) {
    this.api = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  }

  async get(): Promise<LeaseRecord | undefined> {
    try {
      const lease = await countRequest(this.metrics, 'get', 'leases', () =>
        this.api.readNamespacedLease({ namespace: this.namespace, name: this.name }),
      );
      return this.toRecord(lease);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(record: LeaseRecord): Promise<LeaseRecord> {
    const lease = await countRequest(this.metrics, 'create', 'leases', () =>
      this.api.createNamespacedLease({ namespace: this.namespace, body: this.toLease(record) }),
    );
    return this.toRecord(lease);
  }

  async update(record: LeaseRecord): Promise<LeaseRecord> {
    const lease = await countRequest(this.metrics, 'update', 'leases', () =>
      this.api.replaceNamespacedLease({ namespace: this.namespace, name: this.name, body: this.toLease(record) }),
    );
    return this.toRecord(lease);
  }

  private toLease(record: LeaseRecord): k8s.V1Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: this.namespace, resourceVersion: record.resourceVersion },
      spec: {
        holderIdentity: record.holderIdentity,
        leaseDurationSeconds: record.leaseDurationSeconds,
        acquireTime: micro(record.acquireTime),
        renewTime: micro(record.renewTime),
        leaseTransitions: record.leaseTransitions,
      },
    };
  }

  private toRecord(lease: k8s.V1Lease): LeaseRecord {
    const spec = lease.spec ?? {};
    return {
      holderIdentity: spec.holderIdentity,
      leaseDurationSeconds: spec.leaseDurationSeconds,
      acquireTime: toDate(spec.acquireTime),
      renewTime: toDate(spec.renewTime),
      leaseTransitions: spec.leaseTransitions,
      resourceVersion: lease.metadata?.resourceVersion,
    };
  }
}
