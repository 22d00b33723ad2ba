// Model API failures mapped to stage outcomes. All of them are Error (the stage could not do its job)
// with a reason the operator and humans can act on; the summary never carries request headers.
export interface ApiFailure {
  reason: string;
  summary: string;
}

const HINT: Record<string, string> = {
  Unauthorized: 'the API key was rejected; check the pool model.apiKeySecretRef Secret',
  Forbidden: 'the API key may not use this model or endpoint',
  BadRequest: 'the request was rejected as invalid',
  NotFound: 'the model or endpoint does not exist; check model.name and model.baseURL',
  RateLimited: 'rate limited and retries are exhausted',
  Overloaded: 'the model service is overloaded and retries are exhausted',
  ServerError: 'the model service failed and retries are exhausted',
  Unreachable: 'the model endpoint could not be reached',
  Timeout: 'the model endpoint did not answer in time',
};

export function reasonForStatus(status: number | undefined): string {
  if (status === undefined) return 'Unreachable';
  if (status === 401) return 'Unauthorized';
  if (status === 403) return 'Forbidden';
  if (status === 404) return 'NotFound';
  if (status === 408) return 'Timeout';
  if (status === 429) return 'RateLimited';
  if (status === 529) return 'Overloaded';
  if (status >= 500) return 'ServerError';
  return 'BadRequest';
}

/** `detail` is the API's own error message (it names the problem, not the key). */
export function apiFailure(status: number | undefined, detail?: string): ApiFailure {
  const reason = reasonForStatus(status);
  const what = status === undefined ? 'model API' : `model API ${status}`;
  const d = detail ? `: ${detail.replace(/\s+/g, ' ').slice(0, 300)}` : '';
  return { reason, summary: `${what} (${reason}): ${HINT[reason]}${d}` };
}
