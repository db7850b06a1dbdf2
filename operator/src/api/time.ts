/** Formats a time as Kubernetes does for metav1.Time: RFC 3339, whole seconds, UTC. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
