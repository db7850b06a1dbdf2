import { loadSettings, parseGpuNodeSelectors } from '../src/settings';

describe('loadSettings', () => {
  test('defaults', () => {
    const settings = loadSettings([], {});
    expect(settings).toMatchObject({
      namespace: undefined,
      trainerImage: 'mildnet-trainer:latest',
      gpuNodeSelectors: {},
      progressIntervalMs: 15_000,
      leaderElect: true,
      leaseName: 'mildnet-operator',
      leaseNamespace: 'default',
      resyncMs: 300_000,
      workers: 4,
      httpPort: 8080,
    });
  });

  test('flags win over environment', () => {
    const settings = loadSettings(['--namespace', 'ml', '--leader-elect', 'false', '--progress-interval-seconds', '2.5'], {
      MILDNET_NAMESPACE: 'other',
      MILDNET_TRAINER_IMAGE: 'reg/trainer:1',
      MILDNET_GPU_NODE_SELECTORS: '{"a100":{"gpu":"a100"}}',
    });
    expect(settings).toMatchObject({
      namespace: 'ml',
      leaseNamespace: 'ml',
      leaderElect: false,
      progressIntervalMs: 2500,
      trainerImage: 'reg/trainer:1',
      gpuNodeSelectors: { a100: { gpu: 'a100' } },
    });
  });

  const invalid: Array<[string[], string]> = [
    [['--workers', '0'], '--workers (MILDNET_WORKERS) must be an integer >= 1, got "0"'],
    [['--leader-elect', 'yes'], '--leader-elect (MILDNET_LEADER_ELECT) must be true or false, got "yes"'],
    [['--resync-seconds=-1'], '--resync-seconds (MILDNET_RESYNC_SECONDS) must be a number >= 0, got "-1"'],
  ];
  test.each(invalid)('rejects %j', (argv, message) => {
    expect(() => loadSettings(argv, {})).toThrow(message);
  });

  test('rejects unknown flags', () => {
    expect(() => loadSettings(['--nope'], {})).toThrow(/Unknown option '--nope'/);
  });

  test('help', () => {
    expect(loadSettings(['--help'], {})).toBe('help');
  });
});

describe('parseGpuNodeSelectors', () => {
  test('rejects non-JSON and wrong shapes', () => {
    expect(() => parseGpuNodeSelectors('a100=x')).toThrow('--gpu-node-selectors must be JSON');
    expect(() => parseGpuNodeSelectors('[]')).toThrow('must be a JSON object of GPU type to node selector');
    expect(() => parseGpuNodeSelectors('{"a100":{"gpu":1}}')).toThrow('--gpu-node-selectors["a100"] must be an object of string labels, got {"gpu":1}');
  });
});
