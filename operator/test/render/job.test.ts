import { CONFIG_HASH_ANNOTATION, GPU_RESOURCE, KUEUE_QUEUE_LABEL, MILDNETJOB_LABEL } from '../../src/api/constants';
import type { MildnetJobSpec } from '../../src/api/types';
import { loadPresetCatalog } from '../../src/config/presets';
import { renderConfigMap } from '../../src/render/configmap';
import { renderJob } from '../../src/render/job';
import { resolveSpec, type RenderSettings } from '../../src/render/resolve';
import { renderService } from '../../src/render/service';
import { makeMildnetJob } from '../fixtures';

const catalog = loadPresetCatalog();
const settings: RenderSettings = {
  trainerImage: 'mildnet-trainer:test',
  gpuNodeSelectors: { a100: { 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' } },
};

function render(spec: Partial<MildnetJobSpec> = {}) {
  const mj = makeMildnetJob(spec);
  const resolved = resolveSpec(mj, catalog, settings);
  return { mj, resolved, job: renderJob(mj, resolved) };
}

describe('renderJob', () => {
  test('trainer command follows the contract', () => {
    const container = render().job.spec!.template.spec!.containers[0];
    expect(container.name).toBe('trainer');
    expect(container.command).toEqual(['mildnet']);
    expect(container.args).toEqual([
      'train', '--config', '/etc/mildnet/config/config.yaml', '--data', 's3://datasets/tops',
      '--job-dir', 's3://runs/exp1', '--metrics-port', '9090', '--metrics-host', '$(POD_IP)',
    ]);
    expect(container.env).toEqual([{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]);
    expect(container.ports).toEqual([{ name: 'metrics', containerPort: 9090, protocol: 'TCP' }]);
  });

  test('job spec runs one pod with the failure policy', () => {
    const { job } = render();
    expect(job.spec!.parallelism).toBe(1);
    expect(job.spec!.completions).toBe(1);
    expect(job.spec!.backoffLimit).toBe(3);
    expect(job.spec!.podReplacementPolicy).toBe('Failed');
    expect(job.spec!.template.spec!.restartPolicy).toBe('Never');
    expect(job.spec!.template.spec!.automountServiceAccountToken).toBe(false);
    expect(job.spec!.podFailurePolicy!.rules.map((r) => r.action)).toEqual(['Ignore', 'FailJob', 'Count']);
  });

  test('owner reference makes the MildnetJob the controller', () => {
    const { job } = render();
    expect(job.metadata!.ownerReferences).toEqual([
      { apiVersion: 'mildnet.io/v1alpha1', kind: 'MildnetJob', name: 'exp1', uid: 'uid-1', controller: true, blockOwnerDeletion: true },
    ]);
    expect(job.metadata!.labels![MILDNETJOB_LABEL]).toBe('exp1');
    expect(job.spec!.template.metadata!.labels![MILDNETJOB_LABEL]).toBe('exp1');
  });

  test('config is mounted from the ConfigMap', () => {
    const { job, mj, resolved } = render();
    const pod = job.spec!.template.spec!;
    expect(pod.volumes).toEqual([{ name: 'config', configMap: { name: 'exp1-config' } }]);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: 'config', mountPath: '/etc/mildnet/config', readOnly: true }]);
    const configMap = renderConfigMap(mj, resolved.config);
    expect(job.spec!.template.metadata!.annotations![CONFIG_HASH_ANNOTATION]).toBe(configMap.metadata!.annotations![CONFIG_HASH_ANNOTATION]);
  });

  const resourceCases: Array<{ name: string; spec: Partial<MildnetJobSpec>; requests?: Record<string, string>; limits?: Record<string, string> }> = [
    { name: 'no resources', spec: {} },
    { name: 'zero gpus', spec: { resources: { gpus: 0 } } },
    {
      name: 'gpus, cpu and memory',
      spec: { resources: { gpus: 2, cpu: 4, memory: '16Gi' } },
      requests: { cpu: '4', memory: '16Gi', [GPU_RESOURCE]: '2' },
      limits: { memory: '16Gi', [GPU_RESOURCE]: '2' },
    },
    { name: 'cpu only', spec: { resources: { cpu: '500m' } }, requests: { cpu: '500m' } },
  ];
  test.each(resourceCases)('resources: $name', ({ spec, requests, limits }) => {
    const resources = render(spec).job.spec!.template.spec!.containers[0].resources!;
    expect(resources.requests).toEqual(requests);
    expect(resources.limits).toEqual(limits);
  });

  const envFromCases = [
    { name: 'no secrets', data: undefined, output: undefined, expected: undefined },
    { name: 'one shared secret', data: 's3-creds', output: 's3-creds', expected: [{ secretRef: { name: 's3-creds' } }] },
    { name: 'two secrets', data: 'read', output: 'write', expected: [{ secretRef: { name: 'read' } }, { secretRef: { name: 'write' } }] },
  ];
  test.each(envFromCases)('envFrom: $name', ({ data, output, expected }) => {
    const { job } = render({
      data: { uri: 's3://d/x', ...(data ? { secretRef: { name: data } } : {}) },
      output: { uri: 's3://o/y', ...(output ? { secretRef: { name: output } } : {}) },
    });
    expect(job.spec!.template.spec!.containers[0].envFrom).toEqual(expected);
  });

  test('gpuType adds its node selector to spec.nodeSelector', () => {
    const { job } = render({ resources: { gpus: 1, gpuType: 'a100' }, nodeSelector: { pool: 'training' } });
    expect(job.spec!.template.spec!.nodeSelector).toEqual({ pool: 'training', 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-80GB' });
  });

  test('unknown gpuType names the field and the known types', () => {
    expect(() => render({ resources: { gpus: 1, gpuType: 'h100' } })).toThrow(
      'spec.resources.gpuType "h100" is not configured in the operator; use one of: a100',
    );
  });

  test('scheduling fields are copied to the pod', () => {
    const tolerations = [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }];
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } };
    const pod = render({ tolerations, affinity, priorityClassName: 'training' }).job.spec!.template.spec!;
    expect(pod.tolerations).toEqual(tolerations);
    expect(pod.affinity).toEqual(affinity);
    expect(pod.priorityClassName).toBe('training');
  });

  test('image defaults to the operator setting', () => {
    expect(render().job.spec!.template.spec!.containers[0].image).toBe('mildnet-trainer:test');
    expect(render({ image: 'custom:1' }).job.spec!.template.spec!.containers[0].image).toBe('custom:1');
  });

  test('run policy reaches the Job', () => {
    const { job } = render({ runPolicy: { backoffLimit: 7, activeDeadlineSeconds: 3600, suspend: true } });
    expect(job.spec!.backoffLimit).toBe(7);
    expect(job.spec!.activeDeadlineSeconds).toBe(3600);
    expect(job.spec!.suspend).toBe(true);
  });

  test('queueName sets the Kueue label and creates the Job suspended', () => {
    const { job } = render({ queueName: 'gpu-queue' });
    expect(job.metadata!.labels![KUEUE_QUEUE_LABEL]).toBe('gpu-queue');
    expect(job.spec!.suspend).toBe(true);
    expect(job.spec!.template.metadata!.labels![KUEUE_QUEUE_LABEL]).toBeUndefined();
  });
});

describe('renderConfigMap', () => {
  test('holds the merged config as YAML', () => {
    const { mj, resolved } = render({ config: { epochs: 2, lr: 0.01 } });
    const configMap = renderConfigMap(mj, resolved.config);
    expect(configMap.metadata!.name).toBe('exp1-config');
    const text = configMap.data!['config.yaml'];
    expect(text).toContain('epochs: 2\n');
    expect(text).toContain('lr: 0.01\n');
    expect(text).toContain('model_id: mildnet_vgg16\n');
    expect(configMap.metadata!.ownerReferences![0].uid).toBe('uid-1');
  });
});

describe('renderService', () => {
  test('is headless and selects the job pods on port metrics', () => {
    const service = renderService(makeMildnetJob());
    expect(service.metadata!.name).toBe('exp1-metrics');
    expect(service.spec!.clusterIP).toBe('None');
    expect(service.spec!.selector).toEqual({ [MILDNETJOB_LABEL]: 'exp1' });
    expect(service.spec!.ports).toEqual([{ name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' }]);
    expect(service.metadata!.ownerReferences![0].controller).toBe(true);
  });
});
