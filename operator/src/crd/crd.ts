import { GROUP, KIND, MAX_NAME_LENGTH, PLURAL, SHORT_NAMES, SINGULAR, VERSION } from '../api/constants';
import { ConditionType } from '../api/conditions';
import { toStructuralSchema, type SchemaNode } from './json-schema';

export interface CrdInputs {
  /** job_configs/schema.json. */
  jobConfigSchema: SchemaNode;
  /** Names of the bundled presets. */
  presetNames: readonly string[];
  /** OpenAPI schemas of core/v1 Toleration and Affinity. */
  tolerationSchema: SchemaNode;
  affinitySchema: SchemaNode;
}

/** A CEL validation rule as the CRD stores it. */
interface Rule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: string;
}

/** Spec fields frozen once the operator has created the Job; runPolicy.suspend and ttlSecondsAfterFinished stay mutable. */
export const IMMUTABLE_SPEC_FIELDS = [
  'preset',
  'config',
  'data',
  'output',
  'image',
  'resources',
  'nodeSelector',
  'tolerations',
  'affinity',
  'priorityClassName',
  'queueName',
] as const;

const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const LABEL_VALUE = '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$';

function storageSchema(field: 'data' | 'output'): SchemaNode {
  const what = field === 'data' ? 'Dataset location: the triplet CSVs and the image folder or zip.' : 'Job dir: checkpoints, logs and the final model.';
  return {
    type: 'object',
    description: `${what} Passed to the trainer as --${field === 'data' ? 'data' : 'job-dir'}.`,
    required: ['uri'],
    properties: {
      uri: {
        type: 'string',
        minLength: 1,
        maxLength: 2048,
        description: 's3://bucket/prefix (AWS S3 or any S3-compatible store), gs://bucket/prefix, file:///path or an absolute path.',
        'x-kubernetes-validations': [
          {
            rule: "self.matches('^(s3|gs)://[a-z0-9][-a-z0-9._]*(/.*)?$') || self.startsWith('file:///') || self.startsWith('/')",
            message: 'must be s3://bucket/prefix, gs://bucket/prefix, file:///path or an absolute path',
          },
        ],
      },
      secretRef: {
        type: 'object',
        description: 'Secret in the same namespace whose AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and optional AWS_ENDPOINT_URL_S3 and AWS_REGION keys become the trainer\'s environment.',
        required: ['name'],
        properties: { name: { type: 'string', minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN } },
      },
    },
  };
}

function quantitySchema(description: string): SchemaNode {
  return {
    description,
    'x-kubernetes-int-or-string': true,
    'x-kubernetes-validations': [
      {
        rule: "type(self) == int ? self > 0 : isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))",
        message: 'must be a positive Kubernetes quantity such as 4, 500m, 16Gi',
      },
    ],
  };
}

function configSchema(jobConfigSchema: SchemaNode): SchemaNode {
  const converted = toStructuralSchema(jobConfigSchema, { dropDefaults: true, dropTopLevelRequired: true });
  return {
    ...converted,
    description:
      'Job config fields (job_configs/schema.json). Fields set here override the preset; nested objects merge key by key. ' +
      'Without a preset, every required job-config field must be set. Unset fields take the trainer\'s defaults.',
  };
}

function presetRules(jobConfigSchema: SchemaNode): Rule[] {
  const required = (jobConfigSchema.required as string[] | undefined) ?? [];
  return required.map((field) => ({
    rule: `has(self.preset) || (has(self.config) && has(self.config.${field}))`,
    message: `spec.config.${field} is required when spec.preset is not set; set spec.preset or spec.config.${field}`,
    fieldPath: '.config',
    reason: 'FieldValueRequired',
  }));
}

/**
 * Builds a CEL expression that is true when the field at `path` (such as
 * `spec.runPolicy.backoffLimit`) is unchanged, set or unset alike. It tests
 * presence with has() rather than optional chaining, because the API server
 * cannot bound the cost of comparing optional values and rejects such rules.
 */
export function unchangedExpression(path: string): string {
  const parts = path.split('.');
  const present = (root: string) => parts.map((_, i) => `has(${root}.${parts.slice(0, i + 1).join('.')})`).slice(1).join(' && ');
  const value = (root: string) => `${root}.${path}`;
  return `(${present('self')}) == (${present('oldSelf')}) && (!(${present('self')}) || ${value('self')} == ${value('oldSelf')})`;
}

function immutabilityRules(): Rule[] {
  const started = '!has(oldSelf.status) || !has(oldSelf.status.jobName)';
  const fields = IMMUTABLE_SPEC_FIELDS.map((field) => ({
    rule: `${started} || ${unchangedExpression(`spec.${field}`)}`,
    message: `spec.${field} cannot change after the Job was created (status.jobName is set); create a new MildnetJob instead`,
    fieldPath: `.spec.${field}`,
  }));
  const runPolicy = (['backoffLimit', 'activeDeadlineSeconds'] as const).map((field) => ({
    rule: `${started} || ${unchangedExpression(`spec.runPolicy.${field}`)}`,
    message: `spec.runPolicy.${field} cannot change after the Job was created; only runPolicy.suspend and runPolicy.ttlSecondsAfterFinished can`,
    fieldPath: `.spec.runPolicy.${field}`,
  }));
  return [...fields, ...runPolicy];
}

function specSchema(inputs: CrdInputs): SchemaNode {
  return {
    type: 'object',
    description: 'A training run: what to train (preset and/or config), on which data, where to write, and on what hardware.',
    required: ['data', 'output'],
    'x-kubernetes-validations': presetRules(inputs.jobConfigSchema),
    properties: {
      preset: {
        type: 'string',
        description: 'Name of a bundled job config (file name under job_configs/ without .yaml), such as mildnet or mildnet_skip_1.',
        enum: [...inputs.presetNames],
        maxLength: Math.max(...inputs.presetNames.map((n) => n.length)),
      },
      config: configSchema(inputs.jobConfigSchema),
      data: storageSchema('data'),
      output: storageSchema('output'),
      image: {
        type: 'string',
        minLength: 1,
        maxLength: 512,
        description: 'Trainer image; defaults to the operator\'s --trainer-image.',
      },
      resources: {
        type: 'object',
        description: 'Resources of the trainer pod.',
        'x-kubernetes-validations': [
          {
            rule: '!has(self.gpuType) || (has(self.gpus) && self.gpus > 0)',
            message: 'spec.resources.gpuType needs spec.resources.gpus > 0',
            fieldPath: '.gpuType',
          },
        ],
        properties: {
          gpus: { type: 'integer', minimum: 0, maximum: 64, description: 'GPUs per pod, requested and limited as nvidia.com/gpu.' },
          gpuType: {
            type: 'string',
            minLength: 1,
            maxLength: 63,
            description: 'GPU model; the operator\'s --gpu-node-selectors maps it to a node selector.',
          },
          cpu: quantitySchema('CPU request, such as 4 or 3500m.'),
          memory: quantitySchema('Memory request and limit, such as 16Gi.'),
        },
      },
      nodeSelector: {
        type: 'object',
        description: 'Node labels the trainer pod must match, merged with the GPU type\'s selector.',
        maxProperties: 32,
        additionalProperties: { type: 'string', maxLength: 63 },
        'x-kubernetes-map-type': 'atomic',
      },
      tolerations: {
        type: 'array',
        description: 'Tolerations of the trainer pod (core/v1 Toleration).',
        maxItems: 32,
        items: inputs.tolerationSchema,
      },
      affinity: { ...inputs.affinitySchema, description: 'Affinity of the trainer pod (core/v1 Affinity).' },
      priorityClassName: { type: 'string', minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN, description: 'PriorityClass of the trainer pod.' },
      runPolicy: {
        type: 'object',
        default: {},
        description: 'Retries, deadline, clean-up and suspension.',
        properties: {
          backoffLimit: {
            type: 'integer',
            minimum: 0,
            maximum: 1000,
            default: 3,
            description: 'Failed pods (exit code 1, or 75 after SIGTERM) before the MildnetJob fails. Disruptions do not count; exit code 2 fails at once.',
          },
          activeDeadlineSeconds: { type: 'integer', minimum: 1, description: 'Seconds the Job may run before it fails with DeadlineExceeded.' },
          ttlSecondsAfterFinished: {
            type: 'integer',
            minimum: 0,
            description: 'Seconds after completionTime at which the operator deletes the finished MildnetJob and, through garbage collection, its Job and pods.',
          },
          suspend: { type: 'boolean', default: false, description: 'Suspends the Job: running pods stop and the trainer resumes from its last checkpoint on resume.' },
        },
      },
      queueName: {
        type: 'string',
        minLength: 1,
        maxLength: 63,
        pattern: LABEL_VALUE,
        description: 'Kueue LocalQueue; set as the kueue.x-k8s.io/queue-name label on the Job, which Kueue then admits by unsuspending it.',
      },
    },
  };
}

const timeSchema = (description: string): SchemaNode => ({ type: 'string', format: 'date-time', description });

function statusSchema(): SchemaNode {
  return {
    type: 'object',
    description: 'Observed state, written by the operator.',
    properties: {
      phase: { type: 'string', enum: ['Pending', 'Suspended', 'Running', 'Succeeded', 'Failed'], description: 'Summary of the conditions.' },
      conditions: {
        type: 'array',
        description: `Conditions: ${Object.values(ConditionType).join(', ')}.`,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
        items: {
          type: 'object',
          required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
          properties: {
            type: { type: 'string', maxLength: 316 },
            status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
            reason: { type: 'string', maxLength: 1024 },
            message: { type: 'string', maxLength: 32768 },
            lastTransitionTime: timeSchema('When status last changed.'),
            observedGeneration: { type: 'integer', minimum: 0 },
          },
        },
      },
      observedGeneration: { type: 'integer', description: 'metadata.generation this status was computed from.' },
      startTime: timeSchema('When the Job first started pods.'),
      completionTime: timeSchema('When the MildnetJob succeeded or failed.'),
      jobName: { type: 'string', description: 'Name of the batch/v1 Job; set once the Job exists.' },
      model: { type: 'string', description: 'Resolved model_id.' },
      restarts: { type: 'integer', description: 'Failed trainer pods so far (the Job\'s status.failed).' },
      progress: {
        type: 'object',
        description: 'Training progress, read by the operator from the trainer\'s GET /progress.',
        properties: {
          epoch: { type: 'integer', description: 'Epoch running or last finished, from 1.' },
          totalEpochs: { type: 'integer' },
          step: { type: 'integer', description: 'Global step.' },
          totalSteps: { type: 'integer' },
          trainLoss: { type: 'number', nullable: true },
          valLoss: { type: 'number', nullable: true },
          valAccuracy: { type: 'number', nullable: true, description: 'Validation triplet accuracy, 0 to 1.' },
          lastCheckpoint: {
            type: 'object',
            nullable: true,
            properties: { epoch: { type: 'integer' }, step: { type: 'integer' }, time: timeSchema('When the checkpoint was written.') },
          },
          phase: { type: 'string', enum: ['starting', 'training', 'validating', 'checkpointing', 'finished', 'interrupted'] },
          updatedTime: timeSchema('When the trainer last updated its progress.'),
        },
      },
    },
  };
}

/** Builds the MildnetJob CustomResourceDefinition. */
export function buildCrd(inputs: CrdInputs): SchemaNode {
  const rootRules: Rule[] = [
    {
      rule: `size(self.metadata.name) <= ${MAX_NAME_LENGTH} && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')`,
      message: `metadata.name must be a DNS-1035 label of at most ${MAX_NAME_LENGTH} characters (the metrics Service is named <name>-metrics)`,
    },
    ...immutabilityRules(),
  ];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${PLURAL}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: SHORT_NAMES, categories: ['mildnet'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Model', type: 'string', jsonPath: '.status.model' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Epoch', type: 'integer', jsonPath: '.status.progress.epoch' },
            { name: 'Val-Acc', type: 'number', jsonPath: '.status.progress.valAccuracy' },
            { name: 'Restarts', type: 'integer', jsonPath: '.status.restarts', priority: 1 },
            { name: 'Job', type: 'string', jsonPath: '.status.jobName', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'MildnetJob trains a MILDNet visual-similarity model as a batch/v1 Job.',
              required: ['spec'],
              'x-kubernetes-validations': rootRules,
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: specSchema(inputs),
                status: statusSchema(),
              },
            },
          },
        },
      ],
    },
  };
}
