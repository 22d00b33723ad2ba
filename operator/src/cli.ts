#!/usr/bin/env node
// The entry of the one autorun binary (dist/bundle/autorun.mjs). It must load on an older Node to
// say that it is one: ES modules' static imports are all evaluated before any code runs, so this
// file imports only node: builtins and node-version.ts (inlined by the bundler, no imports of its
// own), and everything else comes in by the dynamic import below, after the check.
import { fileURLToPath } from 'node:url';
import { nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
// Stack traces name operator/src/…ts lines, not the minified bundle's: the bundle ships linked
// source maps, and only modules loaded after this call are mapped (all but this entry). Not for the
// operator, which runs for months under a memory limit: Node keeps every loaded chunk's map and,
// from the first stack trace on, its parsed mappings (a heap snapshot with 10,000 tasks: 65 MiB of a
// 125 MiB heap, for client-node's chunks). Its logs carry error messages, not stacks; to map its
// stacks anyway, add --enable-source-maps to the chart's nodeOptions.
if (process.argv[2] !== 'operator') process.setSourceMapsEnabled(true);
const { runCli } = await import('./commands.js');
process.exitCode = await runCli(process.argv.slice(2), fileURLToPath(import.meta.url));
