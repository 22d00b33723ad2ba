// A fake GitLab REST API (v4) on 127.0.0.1, enough for @gitbeaker/rest to list, open and update
// merge requests: projects addressed by their URL-encoded path, PRIVATE-TOKEN auth, the real
// status codes and the snake_case JSON shapes, 409 for a second open MR of a source branch.
import { FakeJsonApi, type RecordedCall, type Reply } from './http-json.js';

export interface FakeMergeRequest {
  iid: number;
  state: 'opened' | 'closed' | 'merged';
  title: string;
  description: string;
  source_branch: string;
  target_branch: string;
}

export class FakeGitLab extends FakeJsonApi {
  validToken = 'glpat-fakefakefakefakefake01';
  /** Project path → its merge requests. */
  readonly projects = new Map<string, FakeMergeRequest[]>();

  constructor(...projects: string[]) {
    super();
    for (const p of projects) this.projects.set(p, []);
  }

  mergeRequests(project: string): FakeMergeRequest[] {
    return this.projects.get(project) ?? [];
  }

  writes(): string[] {
    return this.calls.filter((c) => c.method !== 'GET').map((c) => `${c.method} ${c.path}`);
  }

  private json(project: string, mr: FakeMergeRequest): Record<string, unknown> {
    return { id: 1000 + mr.iid, ...mr, draft: mr.title.startsWith('Draft:'), web_url: `https://gitlab.test/${project}/-/merge_requests/${mr.iid}` };
  }

  protected serve(c: RecordedCall): Reply {
    if (c.headers['private-token'] !== this.validToken) return { status: 401, body: { message: '401 Unauthorized' } };
    // The raw path keeps the project id encoded (group%2Fname), as GitLab requires.
    const m = /^\/api\/v4\/projects\/([^/]+)\/merge_requests(?:\/(\d+))?$/.exec(c.path);
    if (!m) return { status: 404, body: { error: '404 Not Found' } };
    const project = decodeURIComponent(m[1]!);
    const mrs = this.projects.get(project);
    if (!mrs) return { status: 404, body: { message: '404 Project Not Found' } };
    const iid = m[2] ? Number(m[2]) : undefined;
    if (c.method === 'GET' && iid === undefined) {
      const q = c.query;
      const found = mrs.filter(
        (r) => (!q.source_branch || r.source_branch === q.source_branch) && (!q.target_branch || r.target_branch === q.target_branch) && (!q.state || q.state === 'all' || r.state === q.state),
      );
      return { status: 200, body: found.map((r) => this.json(project, r)), headers: { 'x-total': String(found.length), 'x-page': '1', 'x-per-page': q.per_page ?? '20', 'x-total-pages': '1' } };
    }
    if (c.method === 'POST' && iid === undefined) {
      const b = c.body as { source_branch?: string; target_branch?: string; title?: string; description?: string };
      if (!b.source_branch || !b.target_branch || !b.title) return { status: 400, body: { message: 'source_branch, target_branch, title are missing' } };
      if (mrs.some((r) => r.state === 'opened' && r.source_branch === b.source_branch && r.target_branch === b.target_branch)) {
        return { status: 409, body: { message: [`Another open merge request already exists for this source branch: !${mrs[0]!.iid}`] } };
      }
      const mr: FakeMergeRequest = { iid: mrs.length + 1, state: 'opened', title: b.title, description: b.description ?? '', source_branch: b.source_branch, target_branch: b.target_branch };
      mrs.push(mr);
      return { status: 201, body: this.json(project, mr) };
    }
    const mr = mrs.find((r) => r.iid === iid);
    if (!mr) return { status: 404, body: { message: '404 Not found' } };
    if (c.method === 'PUT') {
      const b = c.body as { title?: string; description?: string };
      if (b.title !== undefined) mr.title = b.title;
      if (b.description !== undefined) mr.description = b.description;
      return { status: 200, body: this.json(project, mr) };
    }
    if (c.method === 'GET') return { status: 200, body: this.json(project, mr) };
    return { status: 404, body: { message: '404 Not found' } };
  }
}
