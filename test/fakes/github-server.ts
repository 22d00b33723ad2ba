// A fake GitHub REST API on 127.0.0.1, enough for @octokit/rest to list, open and update pull
// requests: the real paths, status codes and JSON shapes (pulls.list / create / update), the
// 401 "Bad credentials" answer, 404 for an unknown repository and 422 for a second PR of a branch.
import { FakeJsonApi, type RecordedCall, type Reply } from './http-json.js';

export interface FakePull {
  number: number;
  state: 'open' | 'closed';
  title: string;
  body: string;
  head: string;
  base: string;
  draft: boolean;
}

export class FakeGitHub extends FakeJsonApi {
  validToken = 'ghp_fakefakefakefakefakefakefakefake0001';
  /** owner/name → its pull requests. */
  readonly repos = new Map<string, FakePull[]>();
  url = '';

  constructor(...repos: string[]) {
    super();
    for (const r of repos) this.repos.set(r, []);
  }

  override async start(host?: string): Promise<string> {
    this.url = await super.start(host);
    return this.url;
  }

  pulls(repo: string): FakePull[] {
    return this.repos.get(repo) ?? [];
  }

  /** Calls that wrote (POST, PATCH), as "POST /repos/o/r/pulls". */
  writes(): string[] {
    return this.calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`);
  }

  private json(repo: string, p: FakePull): Record<string, unknown> {
    const [owner] = repo.split('/');
    return {
      url: `${this.url}/repos/${repo}/pulls/${p.number}`,
      html_url: `https://github.test/${repo}/pull/${p.number}`,
      number: p.number,
      state: p.state,
      title: p.title,
      body: p.body,
      draft: p.draft,
      head: { ref: p.head, label: `${owner}:${p.head}` },
      base: { ref: p.base, label: `${owner}:${p.base}` },
    };
  }

  protected serve(c: RecordedCall): Reply {
    const auth = String(c.headers.authorization ?? '');
    if (auth.replace(/^(token|bearer) /i, '') !== this.validToken) {
      return { status: 401, body: { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' } };
    }
    const m = /^\/repos\/([^/]+)\/([^/]+)\/pulls(?:\/(\d+))?$/.exec(c.path);
    if (!m) return { status: 404, body: { message: 'Not Found' } };
    const repo = `${m[1]}/${m[2]}`;
    const pulls = this.repos.get(repo);
    if (!pulls) return { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/pulls/pulls' } };
    const number = m[3] ? Number(m[3]) : undefined;
    if (c.method === 'GET' && number === undefined) {
      const head = c.query.head?.includes(':') ? c.query.head.split(':')[1] : c.query.head;
      const state = c.query.state ?? 'open';
      const found = pulls.filter((p) => (!head || p.head === head) && (!c.query.base || p.base === c.query.base) && (state === 'all' || p.state === state));
      return { status: 200, body: found.map((p) => this.json(repo, p)) };
    }
    if (c.method === 'POST' && number === undefined) {
      const b = c.body as { title?: string; body?: string; head?: string; base?: string; draft?: boolean };
      if (!b.title || !b.head || !b.base) return { status: 422, body: { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'missing_field' }] } };
      if (pulls.some((p) => p.state === 'open' && p.head === b.head && p.base === b.base)) {
        return { status: 422, body: { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${b.head}.` }] } };
      }
      const p: FakePull = { number: pulls.length + 1, state: 'open', title: b.title, body: b.body ?? '', head: b.head, base: b.base, draft: b.draft === true };
      pulls.push(p);
      return { status: 201, body: this.json(repo, p) };
    }
    const p = pulls.find((x) => x.number === number);
    if (!p) return { status: 404, body: { message: 'Not Found' } };
    if (c.method === 'PATCH') {
      const b = c.body as { title?: string; body?: string };
      if (b.title !== undefined) p.title = b.title;
      if (b.body !== undefined) p.body = b.body;
      return { status: 200, body: this.json(repo, p) };
    }
    if (c.method === 'GET') return { status: 200, body: this.json(repo, p) };
    return { status: 404, body: { message: 'Not Found' } };
  }
}
