import type { Agent } from 'node:http';

import type { KubeConfig } from '@kubernetes/client-node';

type CreateAgent = (cluster: unknown, options: Record<string, unknown>) => Agent;

/**
 * Makes every request of a KubeConfig share one keep-alive agent.
 *
 * @kubernetes/client-node 1.4 builds a new https.Agent for every request, so
 * each request opens a new TLS connection. In the operator benchmark the TLS
 * handshakes took most of the operator's CPU time. The agent options (CA,
 * client certificate and key) come from the same kubeconfig on every call,
 * so the agent is reused while they stay equal and replaced when they change
 * (a rotated client certificate). Bearer tokens are headers and are still
 * read on every request.
 *
 * NOTE: this replaces the private KubeConfig.createAgent of client-node 1.4.
 * Returns false, and changes nothing, when a later version has no such method.
 */
export function shareAgent(kubeConfig: KubeConfig): boolean {
  const target = kubeConfig as unknown as { createAgent?: CreateAgent };
  const original = target.createAgent;
  if (typeof original !== 'function') return false;

  let cached: { options: Record<string, unknown>; agent: Agent } | undefined;
  target.createAgent = (cluster, options) => {
    if (!cached || !sameOptions(cached.options, options)) {
      cached = { options, agent: original.call(kubeConfig, cluster, { ...options, keepAlive: true }) };
    }
    return cached.agent;
  };
  return true;
}

/** Compares agent options; Buffers (CA, certificate, key) by content. */
function sameOptions(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) {
    const x = a[key];
    const y = b[key];
    const equal = Buffer.isBuffer(x) && Buffer.isBuffer(y) ? x.equals(y) : x === y;
    if (!equal) return false;
  }
  return true;
}
