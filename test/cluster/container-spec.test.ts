import type { V1Container, V1Pod } from '@kubernetes/client-node';
import {
  ContainerConfigError,
  containerArgv,
  expandReferences,
  fieldRefValue,
  imageResolver,
  parseQuantity,
  resourceFieldValue,
  rewriteContainerPaths,
  type LocalImage,
} from './container-spec';

const shell: LocalImage = { entrypoint: ['/bin/sh', '-c'], cmd: ['echo default'] };

function container(fields: Partial<V1Container>): V1Container {
  return { name: 'main', image: 'test/shell', ...fields };
}

describe('expandReferences', () => {
  const env = { NAME: 'pod-1', EMPTY: '' };

  test.each([
    ['replaces a defined variable', 'name=$(NAME)', 'name=pod-1'],
    ['replaces an empty variable', '[$(EMPTY)]', '[]'],
    ['keeps an undefined variable', '$(MISSING)/x', '$(MISSING)/x'],
    ['unescapes $$', '$$(NAME)', '$(NAME)'],
    ['keeps an unclosed reference', 'a $(NAME', 'a $(NAME'],
    ['keeps a lone $', 'cost $5', 'cost $5'],
  ])('%s', (_case, input, expected) => {
    expect(expandReferences(input, env)).toBe(expected);
  });
});

describe('containerArgv', () => {
  test('image entrypoint and cmd without command or args', () => {
    expect(containerArgv(container({}), shell, {})).toEqual(['/bin/sh', '-c', 'echo default']);
  });

  test('args replace cmd', () => {
    expect(containerArgv(container({ args: ['echo $(X)'] }), shell, { X: 'y' })).toEqual(['/bin/sh', '-c', 'echo y']);
  });

  test('command replaces entrypoint and drops cmd', () => {
    expect(containerArgv(container({ command: ['node', 'app.js'] }), shell, {})).toEqual(['node', 'app.js']);
  });

  test('rewrite applies to spec parts only', () => {
    const image: LocalImage = { entrypoint: ['/data/bin/tool'] };
    const rewrite = (text: string): string => text.replace('/data', '/host/data');
    expect(containerArgv(container({ args: ['/data/in'] }), image, {}, rewrite)).toEqual(['/data/bin/tool', '/host/data/in']);
  });

  test('empty argv is a config error', () => {
    expect(() => containerArgv(container({}), { entrypoint: [] }, {})).toThrow(ContainerConfigError);
  });
});

describe('rewriteContainerPaths', () => {
  const mappings = [
    { containerPath: '/etc/config', hostPath: '/tmp/pod/volumes/config' },
    { containerPath: '/etc/config/extra/', hostPath: '/tmp/pod/volumes/extra' },
    { containerPath: '/tmp', hostPath: '/tmp/pod/volumes/scratch' },
  ];

  test.each([
    ['whole value', '/etc/config', '/tmp/pod/volumes/config'],
    ['file below a mount', '/etc/config/a.yaml', '/tmp/pod/volumes/config/a.yaml'],
    ['after =', '--config=/etc/config/a.yaml', '--config=/tmp/pod/volumes/config/a.yaml'],
    ['list with :', '/etc/config:/tmp/x', '/tmp/pod/volumes/config:/tmp/pod/volumes/scratch/x'],
    ['longest mount wins', '/etc/config/extra/b', '/tmp/pod/volumes/extra/b'],
    ['longer name is no match', '/etc/configs/a', '/etc/configs/a'],
    ['relative path is no match', 'etc/config/a', 'etc/config/a'],
    ['inserted host path is not rewritten again', '/tmp', '/tmp/pod/volumes/scratch'],
  ])('%s', (_case, input, expected) => {
    expect(rewriteContainerPaths(input, mappings)).toBe(expected);
  });
});

describe('parseQuantity', () => {
  test.each([
    ['500m', 0.5],
    ['2', 2],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['4k', 4000],
    ['1e3', 1000],
    ['128Mi', 128 * 2 ** 20],
  ])('%s', (input, expected) => {
    expect(parseQuantity(input)).toBeCloseTo(expected);
  });

  test('invalid quantity names the value', () => {
    expect(() => parseQuantity('2 GB', 'limits.memory')).toThrow('limits.memory "2 GB" is not a valid quantity');
  });
});

describe('downward API values', () => {
  const pod: V1Pod = {
    metadata: { name: 'trainer-0', namespace: 'ml', uid: 'u-1', labels: { app: 'mildnet', tier: 'gpu' } },
    spec: {
      nodeName: 'gpu-node-1',
      containers: [container({ resources: { limits: { cpu: '2', memory: '1Gi' }, requests: { cpu: '250m' } } })],
    },
  };
  const allocatable = { cpu: '8', memory: '16Gi' };

  test('fieldRef paths', () => {
    expect(fieldRefValue(pod, 'metadata.name')).toBe('trainer-0');
    expect(fieldRefValue(pod, 'metadata.namespace')).toBe('ml');
    expect(fieldRefValue(pod, "metadata.labels['tier']")).toBe('gpu');
    expect(fieldRefValue(pod, 'metadata.labels')).toBe('app="mildnet"\ntier="gpu"');
    expect(fieldRefValue(pod, 'spec.nodeName')).toBe('gpu-node-1');
    expect(() => fieldRefValue(pod, 'spec.hostname')).toThrow(ContainerConfigError);
  });

  test('resourceFieldRef rounds up by divisor', () => {
    const main = pod.spec!.containers[0];
    expect(resourceFieldValue(pod, main, { resource: 'limits.cpu' }, allocatable)).toBe('2');
    expect(resourceFieldValue(pod, main, { resource: 'requests.cpu' }, allocatable)).toBe('1');
    expect(resourceFieldValue(pod, main, { resource: 'requests.cpu', divisor: '1m' }, allocatable)).toBe('250');
    expect(resourceFieldValue(pod, main, { resource: 'limits.memory', divisor: '1Mi' }, allocatable)).toBe('1024');
  });

  test('missing limit falls back to node allocatable', () => {
    const bare = container({});
    expect(resourceFieldValue(pod, bare, { resource: 'limits.memory', divisor: '1Gi' }, allocatable)).toBe('16');
  });
});

describe('imageResolver', () => {
  test('table matches exact reference, then without tag or digest', () => {
    const resolve = imageResolver({ 'registry.local:5000/trainer': shell, 'trainer:exact': { entrypoint: ['x'] } });
    expect(resolve('trainer:exact')?.entrypoint).toEqual(['x']);
    expect(resolve('registry.local:5000/trainer:v2')).toBe(shell);
    expect(resolve('registry.local:5000/trainer@sha256:abc')).toBe(shell);
    expect(resolve('other')).toBeUndefined();
  });
});
