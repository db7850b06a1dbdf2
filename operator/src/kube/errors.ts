/** Returns the HTTP status of a failed Kubernetes API call, or undefined for network and other errors. */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const record = err as { code?: unknown; statusCode?: unknown };
  if (typeof record.code === 'number') return record.code;
  if (typeof record.statusCode === 'number') return record.statusCode;
  return undefined;
}

export const isNotFound = (err: unknown): boolean => statusCodeOf(err) === 404;
export const isAlreadyExists = (err: unknown): boolean => statusCodeOf(err) === 409 && reasonOf(err) === 'AlreadyExists';
export const isConflict = (err: unknown): boolean => statusCodeOf(err) === 409;

/** Returns the `reason` of a Kubernetes Status body, such as AlreadyExists or Conflict. */
export function reasonOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  let body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const reason = (body as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' ? reason : undefined;
}

/** Describes an API error for logs and conditions: the Status message when there is one, else the error message. */
export function describeApiError(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    let body = (err as { body?: unknown }).body;
    if (typeof body === 'string') {
      try {
        body = JSON.parse(body);
      } catch {
        // keep the raw text
      }
    }
    const message = (body as { message?: unknown } | undefined)?.message;
    if (typeof message === 'string') return message;
  }
  return err instanceof Error ? err.message : String(err);
}
