import { Agent } from 'node:https';

import type { KubeConfig } from '@kubernetes/client-node';

import { shareAgent } from '../../src/kube/shared-agent';

/** The createAgent part of client-node's KubeConfig, which builds a new Agent per call as client-node 1.4 does. */
function fakeKubeConfig() {
  const calls: Array<Record<string, unknown>> = [];
  const config = {
    createAgent(_cluster: unknown, options: Record<string, unknown>) {
      calls.push(options);
      return new Agent(options);
    },
  };
  return { config, calls, create: (options: Record<string, unknown>) => (config as unknown as { createAgent: typeof config.createAgent }).createAgent({}, options) };
}

describe('shareAgent', () => {
  test('reuses one keep-alive agent for equal options', () => {
    const { config, calls, create } = fakeKubeConfig();
    expect(shareAgent(config as unknown as KubeConfig)).toBe(true);
    const first = create({ ca: Buffer.from('ca'), cert: Buffer.from('cert') });
    const second = create({ ca: Buffer.from('ca'), cert: Buffer.from('cert') });
    expect(second).toBe(first);
    expect(calls).toHaveLength(1);
    expect(calls[0].keepAlive).toBe(true);
  });

  test('builds a new agent when a certificate changes', () => {
    const { config, calls, create } = fakeKubeConfig();
    shareAgent(config as unknown as KubeConfig);
    const first = create({ ca: Buffer.from('ca'), cert: Buffer.from('cert-1') });
    const second = create({ ca: Buffer.from('ca'), cert: Buffer.from('cert-2') });
    expect(second).not.toBe(first);
    expect(calls).toHaveLength(2);
  });

  test('leaves a config without createAgent alone', () => {
    expect(shareAgent({} as KubeConfig)).toBe(false);
  });
});
