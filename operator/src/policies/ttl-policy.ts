import type { MildnetJob } from '../api/types';
import { isTerminal } from './status-policy';

export type TTLDecision =
  | { action: 'none' }
  | { action: 'delete' }
  | { action: 'requeue'; afterMs: number };

/**
 * Decides what to do about spec.runPolicy.ttlSecondsAfterFinished: nothing
 * while the MildnetJob runs or has no TTL, delete it once completionTime + TTL
 * has passed, or requeue it for exactly the time left.
 */
export function ttlDecision(mj: MildnetJob, now: Date): TTLDecision {
  const ttlSeconds = mj.spec.runPolicy?.ttlSecondsAfterFinished;
  if (ttlSeconds === undefined || !isTerminal(mj.status)) return { action: 'none' };

  const completion = mj.status?.completionTime;
  if (completion === undefined) return { action: 'none' };
  const expiresAt = new Date(completion).getTime() + ttlSeconds * 1000;
  const remainingMs = expiresAt - now.getTime();
  return remainingMs <= 0 ? { action: 'delete' } : { action: 'requeue', afterMs: remainingMs };
}
