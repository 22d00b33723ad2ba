// The one answer to "where is the model credential": the engines and `autorun run` both ask here.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  claudeCodeFindsGoogleCredentials,
  credentialVarList,
  googleCredentials,
  modelCredential,
  vertexEnv,
} from '../../../operator/src/agent/credentials.js';
import { tempDir } from './helpers.js';

test('per provider, in the order read: our variable, then the provider usual ones', () => {
  expect(modelCredential({ ANTHROPIC_API_KEY: 'k', ANTHROPIC_AUTH_TOKEN: 't' }, 'anthropic')).toEqual({ env: 'ANTHROPIC_API_KEY', kind: 'apiKey', value: 'k' });
  expect(modelCredential({ ANTHROPIC_AUTH_TOKEN: 't' }, 'anthropic')).toEqual({ env: 'ANTHROPIC_AUTH_TOKEN', kind: 'authToken', value: 't' });
  expect(modelCredential({ AUTORUN_MODEL_API_KEY: 'a', ANTHROPIC_API_KEY: 'k' }, 'anthropic')?.value).toBe('a');
  expect(modelCredential({ ANTHROPIC_API_KEY: '' }, 'anthropic')).toBeUndefined();
  expect(modelCredential({ ANTHROPIC_API_KEY: 'k' }, 'openai-compatible')).toBeUndefined();
  expect(modelCredential({ OPENAI_API_KEY: 'o' }, 'openai-compatible')?.value).toBe('o');
  expect(modelCredential({ ANTHROPIC_API_KEY: 'k', AUTORUN_MODEL_API_KEY: 'a' }, 'vertex')).toBeUndefined();
  expect(credentialVarList('anthropic')).toBe('AUTORUN_MODEL_API_KEY, ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN');
  expect(credentialVarList('vertex')).toBe('');
});

test('a pool Vertex settings as the variables Claude Code and the Vertex client read', () => {
  expect(vertexEnv({ provider: 'vertex', vertex: { projectID: 'p', region: 'us-east5' } })).toEqual({ ANTHROPIC_VERTEX_PROJECT_ID: 'p', CLOUD_ML_REGION: 'us-east5' });
  expect(vertexEnv({ provider: 'vertex', vertex: { region: 'global' } })).toEqual({ CLOUD_ML_REGION: 'global' });
  expect(vertexEnv({ provider: 'anthropic', vertex: { projectID: 'p', region: 'r' } })).toEqual({});
  expect(vertexEnv(undefined)).toEqual({});
});

describe('Google credentials, found as google-auth-library would, offline', () => {
  const dir = tempDir();
  const keyFile = join(dir, 'key.json');
  writeFileSync(keyFile, '{}');
  const gcloud = join(dir, 'gcloud');
  mkdirSync(gcloud);
  writeFileSync(join(gcloud, 'application_default_credentials.json'), '{}');
  const google = join(dir, 'bios-google');
  writeFileSync(google, 'Google\n');
  const other = join(dir, 'bios-other');
  writeFileSync(other, 'SeaBIOS\n');
  const nowhere = { adcFile: join(dir, 'none.json'), biosVendorFile: other };

  test('in order: our token, the key file, the gcloud login, a metadata server', () => {
    expect(googleCredentials({ AUTORUN_VERTEX_ACCESS_TOKEN: 'ya29', GOOGLE_APPLICATION_CREDENTIALS: keyFile }, nowhere)).toEqual({ source: 'AUTORUN_VERTEX_ACCESS_TOKEN', kind: 'token' });
    expect(googleCredentials({ GOOGLE_APPLICATION_CREDENTIALS: keyFile, CLOUDSDK_CONFIG: gcloud }, { biosVendorFile: google })).toMatchObject({ kind: 'keyFile' });
    expect(googleCredentials({ CLOUDSDK_CONFIG: gcloud }, { biosVendorFile: google })).toEqual({ source: join(gcloud, 'application_default_credentials.json'), kind: 'gcloud' });
    expect(googleCredentials({ HOME: join(dir, 'nohome') }, { biosVendorFile: google })).toMatchObject({ kind: 'metadata' });
    expect(googleCredentials({ GCE_METADATA_HOST: '127.0.0.1:9' }, nowhere)).toMatchObject({ kind: 'metadata' });
  });

  test('a key file that is not there, or nothing at all, is a problem that says so', () => {
    expect(googleCredentials({ GOOGLE_APPLICATION_CREDENTIALS: join(dir, 'gone.json') }, nowhere)).toEqual({ problem: `GOOGLE_APPLICATION_CREDENTIALS names ${join(dir, 'gone.json')}, which does not exist` });
    expect(googleCredentials({ HOME: join(dir, 'nohome') }, { biosVendorFile: other })).toMatchObject({ problem: expect.stringMatching(/no Google credentials were found/) });
  });

  test('the claude-code engine, which scrubs credential variables and replaces HOME, finds only some', () => {
    const at = (env: NodeJS.ProcessEnv, probe: { adcFile?: string; biosVendorFile: string } = nowhere) => claudeCodeFindsGoogleCredentials(googleCredentials(env, probe), env);
    expect(at({ GCE_METADATA_HOST: '127.0.0.1:9' })).toBe(true);
    expect(at({ CLOUDSDK_CONFIG: gcloud }, { biosVendorFile: other })).toBe(true);
    expect(at({ GOOGLE_APPLICATION_CREDENTIALS: keyFile })).toBe(false);
    expect(at({ AUTORUN_VERTEX_ACCESS_TOKEN: 'ya29' })).toBe(false);
    expect(at({}, { adcFile: join(gcloud, 'application_default_credentials.json'), biosVendorFile: other })).toBe(false);
  });
});
