// Prompts are written in the source as wrapped paragraphs and sent as the model should read them: the
// `prose` tag joins the lines of a paragraph with one space (indentation dropped) and keeps a blank
// line as the break between paragraphs. `\n` in the text is a line break kept as it is; values put
// in (a goal, a report) are never rewrapped.
export function prose(strings: TemplateStringsArray, ...values: unknown[]): string {
  const last = strings.length - 1;
  const parts = strings.raw.map((raw, i) => {
    let s = raw
      .split(/[ \t]*\n[ \t]*\n\s*/)
      .map((p) => p.replace(/[ \t]*\n[ \t]*/g, ' '))
      .join('\n\n');
    if (i === 0) s = s.trimStart();
    if (i === last) s = s.trimEnd();
    return cook(s);
  });
  return parts.reduce((out, s, i) => out + String(values[i - 1]) + s);
}

/** The escapes a prompt uses, as a template literal would read them. */
function cook(raw: string): string {
  return raw.replace(/\\(n|t|`|\$|\\|'|")/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/** Paragraphs, the empty ones left out, a blank line between them. */
export function paragraphs(...ps: (string | false | 0 | null | undefined)[]): string {
  return ps.filter((p): p is string => !!p).join('\n\n');
}
