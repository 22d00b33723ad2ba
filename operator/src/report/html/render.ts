// The task report as one self-contained HTML page: inline CSS and SVG, no script, no font, image or
// stylesheet from anywhere else, so it opens offline and can be mailed or attached as it is.
// Pure: a ReportModel in, a string out.
import type { Role } from '../../api/types.js';
import type { IterationTests, ReportModel, StageBar } from './model.js';

const COLORS: Record<Role, string> = { code: '#4c78a8', test: '#72b7b2', run: '#f58518', repair: '#b279a2', acceptance: '#54a24b', publish: '#9d755d' };

export function esc(s: string | number | undefined): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export const usd = (n: number): string => `$${n.toFixed(n !== 0 && Math.abs(n) < 0.01 ? 4 : 2)}`;

export function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** Tick spacing for an axis of `span` ms: about six ticks at a round step. */
function tickStep(span: number): number {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400].map((s) => s * 1000);
  return steps.find((s) => span / s <= 8) ?? 14400_000;
}

const LABEL_W = 210;
const CHART_W = 640;
/** Room right of the chart for the label after the last bar. */
const RIGHT = 120;
const ROW_H = 22;

function gantt(m: ReportModel): string {
  if (!m.stages.length) return '<p class="empty">No stage has started yet.</p>';
  const x = (t: number): number => LABEL_W + (t / m.span) * CHART_W;
  const rows: string[] = [];
  let y = 24;
  let lastIteration = 0;
  for (const b of [...m.stages].sort((p, q) => p.iteration - q.iteration || p.from - q.from)) {
    if (b.iteration !== lastIteration) {
      rows.push(`<text class="iter" x="4" y="${y + 14}">iteration ${b.iteration}</text><line class="sep" x1="0" x2="${LABEL_W + CHART_W}" y1="${y}" y2="${y}"/>`);
      y += ROW_H;
      lastIteration = b.iteration;
    }
    rows.push(bar(b, x, y));
    y += ROW_H;
  }
  const step = tickStep(m.span);
  const ticks: string[] = [];
  for (let t = 0; t <= m.span; t += step) {
    ticks.push(`<line class="tick" x1="${x(t)}" x2="${x(t)}" y1="18" y2="${y}"/><text class="axis" x="${x(t)}" y="12">${esc(duration(t))}</text>`);
  }
  const legend = (Object.keys(COLORS) as Role[])
    .filter((r) => m.stages.some((s) => s.role === r))
    .map((r, i) => `<rect x="${LABEL_W + i * 110}" y="${y + 10}" width="12" height="12" fill="${COLORS[r]}"/><text class="legend" x="${LABEL_W + i * 110 + 18}" y="${y + 21}">${r}</text>`)
    .join('');
  const height = y + 30;
  return `<svg class="gantt" role="img" aria-label="Stages over time" viewBox="0 0 ${LABEL_W + CHART_W + RIGHT} ${height}" width="${LABEL_W + CHART_W + RIGHT}" height="${height}">
<defs><pattern id="failed" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#ffffff" opacity="0.45"/></pattern></defs>
${ticks.join('\n')}
${rows.join('\n')}
${legend}
</svg>`;
}

function bar(b: StageBar, x: (t: number) => number, y: number): string {
  const x0 = x(b.from);
  const w = Math.max(2, x(b.to) - x0);
  const failed = b.state === 'Failed' || b.state === 'Error';
  const what = [`${b.name}: ${b.state}${b.reason ? ` (${b.reason})` : ''}`, `${duration(b.to - b.from)}${b.open ? ', still running' : ''}`, b.costUSD ? `model ${usd(b.costUSD)}` : '', b.gpuSeconds ? `${b.gpuSeconds} GPU-s` : '', b.summary ?? '']
    .filter(Boolean)
    .join('\n');
  const label = `${b.role}${b.attempt ? ` #${b.attempt + 1}` : ''}`;
  const after = [b.tests ? `${b.tests.passed}/${b.tests.total}` : '', failed ? (b.reason ?? b.state) : ''].filter(Boolean).join(' · ');
  return `<g class="stage" data-stage="${esc(b.name)}" data-role="${b.role}" data-state="${esc(b.state)}">
<title>${esc(what)}</title>
<text class="label" x="${LABEL_W - 8}" y="${y + 15}" text-anchor="end">${esc(label)}</text>
<rect class="stage-bar" x="${x0.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW_H - 6}" rx="3" fill="${COLORS[b.role]}"${failed ? ' stroke="#c0392b" stroke-width="2"' : ''}${b.open ? ' stroke-dasharray="4 2" stroke="#333"' : ''}/>
${failed ? `<rect x="${x0.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${ROW_H - 6}" rx="3" fill="url(#failed)"/>` : ''}
<text class="after" x="${(x0 + w + 6).toFixed(1)}" y="${y + 15}">${esc(after)}</text>
</g>`;
}

function testsChart(tests: IterationTests[]): string {
  if (!tests.length) return '<p class="empty">No test run has finished yet.</p>';
  const W = 60;
  const H = 140;
  const max = Math.max(...tests.map((t) => t.total), 1);
  const cols = tests.map((t, i) => {
    const x = 40 + i * (W + 20);
    const hp = (t.passed / max) * H;
    const hf = (t.failed / max) * H;
    return `<g class="iteration-tests" data-iteration="${t.iteration}" data-role="${t.role}" data-passed="${t.passed}" data-total="${t.total}">
<title>iteration ${t.iteration} ${t.role}: ${t.passed} passed, ${t.failed} failed of ${t.total}</title>
<rect x="${x}" y="${20 + H - hp - hf}" width="${W}" height="${hf}" fill="#e45756"/>
<rect x="${x}" y="${20 + H - hp}" width="${W}" height="${hp}" fill="#54a24b"/>
<text class="count" x="${x + W / 2}" y="${14 + H - hp - hf}" text-anchor="middle">${t.passed}/${t.total}</text>
<text class="axis" x="${x + W / 2}" y="${38 + H}" text-anchor="middle">${t.role === 'run' ? `iter ${t.iteration}` : `accept ${t.iteration}`}</text>
</g>`;
  });
  const width = 60 + tests.length * (W + 20);
  return `<svg class="tests-chart" role="img" aria-label="Tests passing per iteration" viewBox="0 0 ${width} ${H + 50}" width="${width}" height="${H + 50}">
<line class="sep" x1="30" x2="${width}" y1="${20 + H}" y2="${20 + H}"/>
${cols.join('\n')}
</svg>`;
}

function costTables(m: ReportModel): string {
  const maxRole = Math.max(...m.costByRole.map((r) => r.costUSD), 0.000001);
  const roleRows = m.costByRole
    .map(
      (r) => `<tr class="role-cost" data-role="${r.role}"><td><span class="swatch" style="background:${COLORS[r.role]}"></span>${r.role}</td><td class="num">${r.stages}</td><td class="num">${esc(duration(r.seconds * 1000))}</td>
<td class="num">${usd(r.costUSD)}</td><td><svg width="160" height="12" aria-hidden="true"><rect width="${((r.costUSD / maxRole) * 160).toFixed(1)}" height="12" fill="${COLORS[r.role]}"/></svg></td><td class="num">${r.gpuSeconds}</td></tr>`,
    )
    .join('\n');
  const stageRows = m.stages
    .map(
      (b) => `<tr class="stage-cost" data-stage="${esc(b.name)}"><td>${esc(b.name)}</td><td>${b.role}</td><td class="state-${esc(b.state)}">${esc(b.state)}${b.reason ? ` <span class="reason">${esc(b.reason)}</span>` : ''}</td>
<td class="num">${esc(duration(b.to - b.from))}</td><td class="num">${usd(b.costUSD)}</td><td class="num">${b.gpuSeconds}</td></tr>`,
    )
    .join('\n');
  return `<div class="cols">
<table class="by-role"><caption>By role</caption><thead><tr><th>role</th><th>stages</th><th>time</th><th>model</th><th></th><th>GPU-s</th></tr></thead><tbody>${roleRows}</tbody></table>
<table class="by-stage"><caption>By stage</caption><thead><tr><th>stage</th><th>role</th><th>state</th><th>time</th><th>model</th><th>GPU-s</th></tr></thead><tbody>${stageRows}</tbody></table>
</div>`;
}

function repairs(m: ReportModel): string {
  if (!m.repairs.length) return '<p class="empty">No repair was needed.</p>';
  return m.repairs
    .map((r) => {
      const counts = r.tests ? `${r.tests.failed} failed, ${r.tests.passed} passed of ${r.tests.total}` : 'no counts';
      const failures = r.failures.length
        ? `<ul class="failures">${r.failures.map((f) => `<li><code>${esc(f.name)}</code><pre>${esc(f.message)}</pre>${f.trace ? `<details><summary>trace</summary><pre>${esc(f.trace)}</pre></details>` : ''}</li>`).join('')}</ul>`
        : r.failing.length
          ? `<ul class="failures">${r.failing.map((f) => `<li><code>${esc(f)}</code></li>`).join('')}</ul>`
          : '';
      const raw = r.raw ? `<details><summary>The report as the repair agent got it</summary><pre>${esc(r.raw)}</pre></details>` : '';
      return `<section class="repair" data-iteration="${r.iteration}">
<h3>Iteration ${r.iteration}: ${esc(r.stage ?? 'repair')} <span class="state-${esc(r.outcome)}">${esc(r.outcome)}</span></h3>
<p>It was given the failure report of the run before: <strong class="repair-counts">${esc(counts)}</strong>${r.command ? `, from <code>${esc(r.command)}</code>` : ''}.</p>
${failures}${raw}
${r.summary ? `<p class="summary">The repair agent: ${esc(r.summary)}</p>` : ''}
</section>`;
    })
    .join('\n');
}

function result(m: ReportModel): string {
  const r = m.result;
  const branch = r?.branch ? `<dd class="branch"><code>${esc(r.branch)}</code>${r.commit ? ` at <code class="commit">${esc(r.commit.slice(0, 12))}</code>` : ''}</dd>` : '<dd>none yet</dd>';
  const url = r?.pullRequestURL;
  const pr = url && /^https?:\/\//.test(url) ? `<a href="${esc(url)}">${esc(url)}</a>` : 'none (spec.repository.pullRequest asks for one)';
  return `<dl class="result"><dt>Branch</dt>${branch}<dt>Pull request</dt><dd class="pr">${pr}</dd></dl>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1060px;color:#1d2330;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde1e8;padding-bottom:4px}h3{font-size:15px;margin:14px 0 4px}
.sub{color:#5b6474;margin:0 0 14px}.goal{background:#f5f7fa;border-left:3px solid #4c78a8;padding:8px 12px;white-space:pre-wrap}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #dde1e8;border-radius:6px;padding:8px 14px;min-width:110px}.card b{display:block;font-size:18px}
.card span{color:#5b6474;font-size:12px}.phase-Succeeded b{color:#2e7d32}.phase-Failed b{color:#c0392b}
svg text{font:12px system-ui,sans-serif;fill:#1d2330}svg .axis{fill:#5b6474;font-size:11px;text-anchor:middle}svg .iter{font-weight:600}
svg .tick{stroke:#eef0f4}svg .sep{stroke:#c9ced8}svg .after{fill:#5b6474;font-size:11px}svg .count{font-weight:600}
table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 10px;border-bottom:1px solid #eef0f4;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:4px 0}.cols{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}.reason{color:#5b6474;font-size:12px}
.state-Failed,.state-Error{color:#c0392b}.state-Succeeded{color:#2e7d32}
pre{background:#f5f7fa;padding:6px 10px;overflow:auto;max-height:240px;font-size:12px;margin:4px 0}
.failures{margin:4px 0;padding-left:18px}.empty{color:#5b6474}dl.result{display:grid;grid-template-columns:120px 1fr;gap:4px}dt{color:#5b6474}dd{margin:0}
footer{margin-top:32px;color:#8a93a3;font-size:12px}`;

export function renderReport(m: ReportModel): string {
  const card = (label: string, value: string, cls = ''): string => `<div class="card ${cls}"><span>${esc(label)}</span><b>${esc(value)}</b></div>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>autorun report: ${esc(m.name)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(m.name)}</h1>
<p class="sub">${esc(m.origin)}${m.language ? ` · ${esc(m.language)}` : ''}${m.startedAt ? ` · started ${esc(m.startedAt)}` : ''}${m.completedAt ? ` · finished ${esc(m.completedAt)}` : ''}</p>
<div class="goal">${esc(m.goal)}</div>
<h2>Outcome</h2>
<div class="cards">
${card('phase', m.phase, `phase-${m.phase}`)}${m.reason ? card('reason', m.reason) : ''}${card('iterations', String(m.iteration))}${m.testsSummary ? card('tests', m.testsSummary) : ''}
${card('total cost', usd(m.cost.totalUSD))}${card('model', usd(m.cost.llmUSD))}${card('GPU time', `${m.cost.gpuSeconds} s`)}${card('stages', String(m.stages.length))}
</div>
${m.message ? `<p class="message">${esc(m.message)}</p>` : ''}
${result(m)}
<h2>Timeline</h2>
${gantt(m)}
<h2>Tests passing per iteration</h2>
${testsChart(m.tests)}
<h2>Cost</h2>
${costTables(m)}
<h2>Repairs and the failure each one got</h2>
${repairs(m)}
<footer>Made by <code>autorun report</code> at ${esc(m.generatedAt)}. This page loads nothing from anywhere.</footer>
</body>
</html>
`;
}
