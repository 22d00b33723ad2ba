// File tools confined to the workspace, with the role's ownership rules applied on every call.
import { mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { confine, isProjectFile, isTestPath } from './paths.js';
import { readInside, writeInside } from './confined-io.js';
import { ToolError, str } from './types.js';
import type { ToolSpec } from './types.js';

export interface FilePolicy {
  /** Why reading this file is refused, or undefined when allowed. */
  readDenied(rel: string): string | undefined;
  writeDenied(rel: string): string | undefined;
}

const SKIP_DIRS = new Set(['.git', 'node_modules', '__pycache__', '.pytest_cache', '.venv', 'venv', 'dist', 'build', '.mypy_cache']);
const MAX_READ = 200_000;
const MAX_LIST = 1000;
const MAX_MATCHES = 200;

export function policyFor(role: 'code' | 'test' | 'repair', allowRepairToEditTests = false): FilePolicy {
  switch (role) {
    case 'code':
      return {
        readDenied: () => undefined,
        writeDenied: (rel) => (isTestPath(rel) ? `${rel} is a test file: the test agent owns tests, the code agent may not write them` : undefined),
      };
    case 'repair':
      return {
        readDenied: () => undefined,
        writeDenied: (rel) =>
          !allowRepairToEditTests && isTestPath(rel) ? `${rel} is a test file: this task does not let repair edit tests; use flag_test if you believe a test is wrong` : undefined,
      };
    case 'test':
      return {
        readDenied: (rel) =>
          isTestPath(rel) || isProjectFile(rel) ? undefined : `${rel} is not a test file: the test agent writes tests from the goal alone and may not read the implementation`,
        writeDenied: (rel) => (isTestPath(rel) ? undefined : `${rel} is not a test file: the test agent may only write tests (test_*.py, *_test.go, *.test.js, tests/...)`),
      };
  }
}

async function walk(root: string, dir: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(join(root, dir), { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (out.length >= MAX_LIST) return;
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (!SKIP_DIRS.has(e.name)) await walk(root, rel, out);
    } else if (e.isFile()) out.push(rel);
  }
}

export function fileTools(root: string, policy: FilePolicy): ToolSpec[] {
  const readable = (given: string): { abs: string; rel: string } => {
    const p = confine(root, given);
    const why = policy.readDenied(p.rel);
    if (why) throw new ToolError(why);
    return p;
  };
  const writable = (given: string): { abs: string; rel: string } => {
    const p = confine(root, given);
    const why = policy.writeDenied(p.rel);
    if (why) throw new ToolError(why);
    return p;
  };
  return [
    {
      name: 'list_files',
      description: 'List files under a directory of the workspace (recursive; skips .git, node_modules, caches).',
      inputSchema: { type: 'object', properties: { path: { type: 'string', description: 'Directory relative to the workspace root; default the root.' } } },
      async run(input) {
        const { rel } = confine(root, str(input, 'path', false) || '.');
        const out: string[] = [];
        await walk(root, rel, out);
        return out.length ? out.join('\n') + (out.length >= MAX_LIST ? `\n[listing stopped at ${MAX_LIST} files]` : '') : '(no files)';
      },
    },
    {
      name: 'read_file',
      description: 'Read a text file of the workspace.',
      inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
      async run(input) {
        const { abs, rel } = readable(str(input, 'path'));
        const text = await readInside(root, abs, rel);
        return text.length > MAX_READ ? text.slice(0, MAX_READ) + `\n[truncated: ${text.length} characters in all]` : text;
      },
    },
    {
      name: 'write_file',
      effect: 'write',
      description: 'Create or overwrite a file of the workspace with the given content (parent directories are created).',
      inputSchema: { type: 'object', properties: { path: { type: 'string' }, content: { type: 'string' } }, required: ['path', 'content'] },
      async run(input) {
        const { abs, rel } = writable(str(input, 'path'));
        const content = str(input, 'content');
        await mkdir(dirname(abs), { recursive: true });
        await writeInside(root, abs, rel, content);
        return `wrote ${rel} (${Buffer.byteLength(content)} bytes)`;
      },
    },
    {
      name: 'edit_file',
      effect: 'write',
      description: 'Replace one exact occurrence of old_string with new_string in a file. old_string must occur exactly once.',
      inputSchema: {
        type: 'object',
        properties: { path: { type: 'string' }, old_string: { type: 'string' }, new_string: { type: 'string' } },
        required: ['path', 'old_string', 'new_string'],
      },
      async run(input) {
        const { abs, rel } = writable(str(input, 'path'));
        if (policy.readDenied(rel)) throw new ToolError(policy.readDenied(rel));
        const oldS = str(input, 'old_string');
        const newS = str(input, 'new_string');
        let text: string;
        try {
          text = await readInside(root, abs, rel);
        } catch (e) {
          throw /moved outside/.test((e as Error).message) ? e : new ToolError(`cannot edit ${rel}: no such file`);
        }
        const count = oldS ? text.split(oldS).length - 1 : 0;
        if (count !== 1) throw new ToolError(`old_string occurs ${count} times in ${rel}; it must occur exactly once`);
        await writeInside(root, abs, rel, text.replace(oldS, () => newS));
        return `edited ${rel}`;
      },
    },
    {
      name: 'search',
      description: 'Search the workspace files for a regular expression; returns path:line: text for each match.',
      inputSchema: {
        type: 'object',
        properties: { pattern: { type: 'string', description: 'JavaScript regular expression' }, path: { type: 'string', description: 'Directory to search; default the root.' } },
        required: ['pattern'],
      },
      async run(input) {
        let re: RegExp;
        try {
          re = new RegExp(str(input, 'pattern'));
        } catch (e) {
          throw new ToolError(`bad pattern: ${(e as Error).message}`);
        }
        const { rel: dir } = confine(root, str(input, 'path', false) || '.');
        const files: string[] = [];
        await walk(root, dir === '' ? '' : dir, files);
        const hits: string[] = [];
        for (const f of files) {
          if (policy.readDenied(f) || hits.length >= MAX_MATCHES) continue;
          const abs = join(root, f);
          if ((await stat(abs)).size > MAX_READ) continue;
          let text: string;
          try {
            text = await readInside(root, abs, f);
          } catch {
            continue; // gone, or now a link out of the workspace
          }
          const lines = text.split('\n');
          lines.forEach((line, i) => {
            if (hits.length < MAX_MATCHES && re.test(line)) hits.push(`${f}:${i + 1}: ${line.slice(0, 300)}`);
          });
        }
        return hits.length ? hits.join('\n') + (hits.length >= MAX_MATCHES ? `\n[stopped at ${MAX_MATCHES} matches]` : '') : 'no matches';
      },
    },
  ];
}
