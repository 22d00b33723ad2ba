import { isSecretVar, redact, redactTokenShapes, scrubEnv, secretValues } from '../../../operator/src/util/secrets.js';

test('secret names: env variables and log fields alike', () => {
  for (const k of ['ANTHROPIC_API_KEY', 'apiKey', 'api-key', 'AUTORUN_GIT_TOKEN', 'SLACK_BOT_TOKEN', 'authorization', 'KUBECONFIG']) expect(isSecretVar(k)).toBe(true);
  for (const k of ['PATH', 'HOME', 'AUTORUN_TASK', 'namespace', 'message']) expect(isSecretVar(k)).toBe(false);
});

test('values of secret variables are redacted; short ones are not hunted for', () => {
  const env = { ANTHROPIC_API_KEY: 'sk-ant-0123456789', GIT_TOKEN: 'abc', HOME: '/home/x' };
  expect(scrubEnv(env)).toEqual({ HOME: '/home/x' });
  expect(secretValues(env)).toEqual(['sk-ant-0123456789']);
  expect(redact('key sk-ant-0123456789 home /home/x', secretValues(env))).toBe('key [redacted] home /home/x');
});

test('token shapes are redacted even when the value is unknown', () => {
  const text = 'a sk-ant-api03-abcdefghij b xoxb-1234-abcdefgh c ghp_abcdefghijklmnopqrstuvwxyz d plain-text';
  expect(redactTokenShapes(text)).toBe('a [redacted] b [redacted] c [redacted] d plain-text');
});
