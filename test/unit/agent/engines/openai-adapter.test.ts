// The OpenAI chat-completions adapter of the shared tool loop against the fake server: a call whose
// arguments break the tool's schema goes back to the model as a tool message naming the argument.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openAICompatibleEngine } from '../../../../operator/src/agent/engines/openai-compatible.js';
import { fileTools, policyFor } from '../../../../operator/src/agent/tools/file-tools.js';
import { chatText, chatTool, startFakeOpenAI } from '../../../fakes/openai-server.js';
import type { FakeOpenAI } from '../../../fakes/openai-server.js';
import { model, recordingTranscript, tempDir } from '../helpers.js';

let fake: FakeOpenAI | undefined;
afterEach(async () => fake?.close());

test('schema-invalid arguments: the tool message names the argument, the tool does not run, the model tries again', async () => {
  const ws = tempDir();
  fake = await startFakeOpenAI([chatTool('write_file', { path: 'a.py', content: 7 }), chatTool('write_file', { path: 'a.py', content: 'A = 1\n' }), chatText('Wrote a.py')]);
  const res = await openAICompatibleEngine({
    system: 'sys',
    prompt: 'write a.py',
    tools: fileTools(ws, policyFor('code')),
    claudeTools: [],
    model: model({ provider: 'openai-compatible', name: 'm', baseURL: fake.url }),
    workspace: ws,
    env: {},
    transcript: recordingTranscript().transcript,
  });
  expect(res).toMatchObject({ outcome: 'Succeeded', turns: 3 });
  const second = fake.requests[1]!.body.messages;
  expect(second.at(-1)).toMatchObject({ role: 'tool', content: 'error: invalid arguments for write_file: content: must be string' });
  expect(existsSync(join(ws, 'a.py'))).toBe(true);
});
