// One notion of "secret" for every component: the agent keeps secrets (model API key, git token)
// from the commands the model runs, its transcript and its result; the local tier keeps them from
// the run stage; the logger and the Slack reporter keep them out of what they write.
export const SECRET_NAME = /(API[-_]?KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|AUTH)/i;
/** Known secret variables even when their names do not look like one. */
export const SECRET_VARS: ReadonlySet<string> = new Set(['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'OPENAI_API_KEY', 'AUTORUN_GIT_TOKEN', 'GOOGLE_APPLICATION_CREDENTIALS', 'KUBECONFIG']);

/** An environment variable or a structured-log field that holds a secret, judged by its name. */
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

// Token shapes that must never be posted even if a user pastes one into a goal or an agent echoes
// one: Anthropic, Slack, GitHub and Google API keys.
const TOKEN_SHAPES = [/sk-ant-[A-Za-z0-9_-]{8,}/g, /glpat-[A-Za-z0-9_-]{20,}/g, /xox[abprs]-[A-Za-z0-9-]{8,}/g, /gh[pousr]_[A-Za-z0-9]{20,}/g, /AIza[0-9A-Za-z_-]{30,}/g];

/** Redacts anything shaped like a known token, for text whose secrets are not known by value. */
export function redactTokenShapes(text: string): string {
  return TOKEN_SHAPES.reduce((t, re) => t.replace(re, '[redacted]'), text);
}
