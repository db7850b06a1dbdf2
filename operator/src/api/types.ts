import type { V1Affinity, V1Toleration } from '@kubernetes/client-node';

/** A job config as defined by job_configs/schema.json; keys are snake_case. */
export type JobConfig = Record<string, unknown>;

export interface SecretReference {
  name: string;
}

export interface StorageLocation {
  /** `s3://bucket/prefix`, `gs://bucket/prefix`, `file:///path` or an absolute path. */
  uri: string;
  /** Secret whose AWS_* keys become the trainer's environment. */
  secretRef?: SecretReference;
}

export interface ResourceSpec {
  /** GPUs per pod, requested as nvidia.com/gpu. */
  gpus?: number;
  /** Key into the operator's GPU type → node selector map. */
  gpuType?: string;
  /** Kubernetes quantities; numbers are accepted as well. */
  cpu?: string | number;
  memory?: string | number;
}

export interface RunPolicy {
  backoffLimit?: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  suspend?: boolean;
}

export interface MildnetJobSpec {
  preset?: string;
  config?: JobConfig;
  data: StorageLocation;
  output: StorageLocation;
  image?: string;
  resources?: ResourceSpec;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  affinity?: V1Affinity;
  priorityClassName?: string;
  runPolicy?: RunPolicy;
  queueName?: string;
}

/** metav1.Condition as stored in status.conditions. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface CheckpointInfo {
  epoch: number;
  step: number;
  time: string;
}

/** Training progress as copied from the trainer's GET /progress. */
export interface Progress {
  epoch?: number;
  totalEpochs?: number;
  step?: number;
  totalSteps?: number;
  trainLoss?: number | null;
  valLoss?: number | null;
  valAccuracy?: number | null;
  lastCheckpoint?: CheckpointInfo | null;
  phase?: string;
  updatedTime?: string;
}

export type Phase = 'Pending' | 'Suspended' | 'Running' | 'Succeeded' | 'Failed';

export interface MildnetJobStatus {
  phase?: Phase;
  conditions?: Condition[];
  observedGeneration?: number;
  startTime?: string;
  completionTime?: string;
  jobName?: string;
  /** Resolved model_id (preset merged with spec.config), shown by kubectl get. */
  model?: string;
  restarts?: number;
  progress?: Progress;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface MildnetJob {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: MildnetJobSpec;
  status?: MildnetJobStatus;
}

/** `namespace/name`, the work queue key of a MildnetJob. */
export function objectKey(meta: { namespace?: string; name?: string }): string {
  return `${meta.namespace ?? ''}/${meta.name ?? ''}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
