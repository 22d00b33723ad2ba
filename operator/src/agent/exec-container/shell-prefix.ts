// Claude Code's Bash in an LLM Pod: CLAUDE_CODE_SHELL_PREFIX names a script that Claude Code runs as
// `<prefix> '<command line>'` from its own process (whose environment holds the model key). The
// script drops every secret-looking variable and sends the command to the exec container
// (protocol.ts), printing its output as it arrives and exiting with its status; killed (Claude
// Code's timeout), it closes the connection, and the exec container kills the command's whole tree.
// A standalone Node script, not `autorun`: it starts for every command, and loads only node:net.
import { CONNECT_WAIT_MS } from './client.js';

/** The exec container's own deadline for one Bash command; Claude Code's own timeout comes first. */
const COMMAND_TIMEOUT_MS = 4 * 3600_000;

export function execShellPrefixScript(node: string, socketPath: string, secretName: RegExp, secretVars: Iterable<string>): string {
  return `#!${node}
// Written by autorun's claude-code engine for this stage; removed with it.
import { connect } from 'node:net';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import { basename, dirname } from 'node:path';
const socketPath = ${JSON.stringify(socketPath)};
const secret = new RegExp(${JSON.stringify(secretName.source)}, 'i');
const known = new Set(${JSON.stringify([...secretVars])});
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !known.has(k) && !secret.test(k)));
let command = process.argv[2] ?? '';
// Claude Code ends each command line with \`&& pwd -P >| $TMPDIR/claude-XXXX-cwd\` to follow the
// shell's directory. Its TMPDIR is not shared with the exec container (nothing there may plant a
// file or a link that Claude Code then reads): the directory goes to a file there, comes back in
// the result, and is written here.
let cwdFile, readBack;
const m = /&& pwd -P >\\| (\\/[^\\s'"]+)$/.exec(command);
if (m && process.env.TMPDIR && dirname(m[1]) === process.env.TMPDIR && /^claude-[0-9a-f]+-cwd$/.test(basename(m[1]))) {
  cwdFile = m[1];
  readBack = '/tmp/.autorun-cwd-' + randomBytes(8).toString('hex');
  command = command.slice(0, m.index) + '&& pwd -P >| ' + readBack;
}
const request = { argv: ['/bin/bash', '-c', command], cwd: process.cwd(), env, timeoutMs: ${COMMAND_TIMEOUT_MS}, maxOutputBytes: 1024, stream: true, readBack };
const until = Date.now() + ${CONNECT_WAIT_MS};
let sock;
let code;
const fail = (message) => {
  process.stderr.write(message + '\\n');
  process.exit(127);
};
const frame = (f) => {
  if (f.t === 'out') process.stdout.write(f.d);
  else if (f.t === 'err') process.stderr.write(f.d);
  else if (f.t === 'error') fail('the exec container ran nothing: ' + f.message);
  else if (f.t === 'result') {
    code = f.exitCode ?? 128 + (constants.signals[f.signal] ?? 1);
    if (cwdFile && typeof f.readBack === 'string') writeFileSync(cwdFile, f.readBack);
  }
};
const run = () => {
  let pending = '';
  sock.setEncoding('utf8');
  sock.on('error', () => undefined);
  sock.on('data', (chunk) => {
    pending += chunk;
    let nl;
    while ((nl = pending.indexOf('\\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (line) frame(JSON.parse(line));
    }
  });
  sock.on('close', () => (code === undefined ? fail('the exec container closed the connection without a result') : process.exit(code)));
  sock.write(JSON.stringify(request) + '\\n');
};
const attempt = () => {
  sock = connect(socketPath);
  const onError = (e) => {
    sock.destroy();
    if ((e.code === 'ENOENT' || e.code === 'ECONNREFUSED') && Date.now() < until) setTimeout(attempt, 200);
    else fail('the exec container does not answer at ' + socketPath + ': ' + (e.code ?? e.message));
  };
  sock.once('error', onError);
  sock.once('connect', () => {
    sock.off('error', onError);
    run();
  });
};
for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(s, () => {
  sock?.destroy();
  process.exit(128 + constants.signals[s]);
});
attempt();
`;
}
