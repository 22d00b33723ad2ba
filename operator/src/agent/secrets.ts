// Secrets the agent holds (model API key, git token) must never reach a child process the model
// controls, the transcript, or the result.
const SECRET_NAME = /(API_KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|AUTH)/i;
/** Known secret variables even when their names do not look like one. */
const SECRET_VARS = new Set(['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'OPENAI_API_KEY', 'AUTORUN_GIT_TOKEN', 'GOOGLE_APPLICATION_CREDENTIALS', 'KUBECONFIG']);

export function isSecretVar(name: string): boolean {
  return SECRET_VARS.has(name) || SECRET_NAME.test(name);
}

/** The env without secrets, for commands the model runs. */
export function scrubEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!isSecretVar(k)) out[k] = v;
  return out;
}

/** Secret values present in env (at least 8 characters, so short values do not blank out text). */
export function secretValues(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([k, v]) => isSecretVar(k) && typeof v === 'string' && v.length >= 8)
    .map(([, v]) => v as string);
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[redacted]');
  return out;
}
