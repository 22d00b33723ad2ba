// The stage summary of a model's reply: its first non-empty line, bounded.
export function firstLine(s: string): string {
  return s.trim().split('\n').find((l) => l.trim())?.trim().slice(0, 300) ?? '';
}
