// The metric names a PromQL expression reads, for checking a dashboard against what the operator
// exports. A tokenizer, not a parser (promtool parses each expression in the test): strings,
// label matchers, ranges and comments are dropped, then every identifier is a metric name except
// functions (followed by "("), keywords, and the label lists of by/without/on/ignoring/group_*.

// Aggregation operators, which may take their by/without clause before the parenthesis.
const AGGREGATIONS = ['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio'];
const KEYWORDS = new Set([...AGGREGATIONS, 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2', 'start', 'end', 'inf', 'nan']);
const LABEL_LIST = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

export function metricNames(expr: string): string[] {
  const s = expr
    .replace(/#[^\n]*/g, ' ')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const names = new Set<string>();
  const re = /[A-Za-z_:][A-Za-z0-9_:]*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    const word = m[0];
    const before = s.slice(0, m.index);
    const after = s.slice(m.index + word.length);
    if (/^\s*\(/.test(after) && !LABEL_LIST.has(word)) continue; // a function call
    if (KEYWORDS.has(word.toLowerCase())) {
      if (LABEL_LIST.has(word)) {
        // Skip its "(label, ...)" list.
        const close = after.indexOf(')');
        if (/^\s*\(/.test(after) && close >= 0) re.lastIndex = m.index + word.length + close + 1;
      }
      continue;
    }
    if (/[0-9.]$/.test(before) && /^[smhdwy]/.test(word)) continue; // the unit of a duration, as in offset 5m
    names.add(word);
  }
  return [...names];
}

/** Every PromQL expression of a Grafana dashboard: panel targets (rows' panels too) and query variables. */
export function dashboardExpressions(dashboard: unknown): Array<{ where: string; expr: string }> {
  type Panel = { title?: string; targets?: Array<{ expr?: string; refId?: string }>; panels?: Panel[] };
  const d = dashboard as { panels?: Panel[]; templating?: { list?: Array<{ name: string; type: string; query?: { query?: string } | string }> } };
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (panels: Panel[] = []): void => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `panel "${p.title}" ${t.refId ?? ''}`.trim(), expr: t.expr });
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query?.query;
    // label_values(metric{...}, label): the metric is the expression.
    const inner = q && /^label_values\((.*),\s*[A-Za-z_]\w*\)$/.exec(q)?.[1];
    if (inner) out.push({ where: `variable $${v.name}`, expr: inner });
  }
  return out;
}

/** Grafana's own variables replaced by values a plain PromQL parser accepts. */
export function withGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)/g, '5m').replace(/\$\{?([A-Za-z_]\w*)\}?/g, '.*');
}
