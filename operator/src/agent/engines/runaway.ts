// A test file that runs away: the 1.5B model, writing HumanEval tests, kept adding asserts of one
// shape (move_one_ball([1, 2, ..., n]) == True for ever longer lists; the same largest_smallest_
// integers line twenty times) until the token limit cut it off, two problems of six. The later
// asserts were invented and some wrong, and each such file cost the whole token budget of a turn
// (minutes on a CPU), again at every revision. Generation stops at the first line whose shape has
// been written SAME_SHAPE_LIMIT times already; what came before it is the file.

/** Lines of one shape a file may hold; the next one ends the generation. */
export const SAME_SHAPE_LIMIT = 10;

/**
 * A line's shape: numbers become #, runs of numbers in a list become one, blanks go; digits in a
 * name (test_3) stay, so tests named by number are not one shape. Lines too short to say anything
 * (a bracket, `else:`) have none.
 */
export function lineShape(line: string): string | undefined {
  const t = line.trim();
  if (t.length < 12) return undefined;
  return t
    .replace(/(?<![\w.])-?\d+(\.\d+)?(?![\w.])/g, '#')
    .replace(/#(\s*,\s*#)+/g, '#…')
    .replace(/\s+/g, '');
}

/** Feeds generated text in chunks; says where the runaway begins once it has. */
export class RunawayWatch {
  private text = '';
  private scanned = 0;
  private readonly counts = new Map<string, number>();
  /** Offset in the text of the first line over the limit, once seen. */
  cutAt: number | undefined;

  constructor(private readonly limit = SAME_SHAPE_LIMIT) {}

  /** Adds a chunk; true when the text has run away (stop generating). */
  push(chunk: string): boolean {
    if (this.cutAt !== undefined) return true;
    this.text += chunk;
    let nl: number;
    while ((nl = this.text.indexOf('\n', this.scanned)) >= 0) {
      const shape = lineShape(this.text.slice(this.scanned, nl));
      if (shape !== undefined) {
        const n = (this.counts.get(shape) ?? 0) + 1;
        this.counts.set(shape, n);
        if (n > this.limit) {
          this.cutAt = this.scanned;
          return true;
        }
      }
      this.scanned = nl + 1;
    }
    return false;
  }

  /** The text generated before the runaway line (undefined while there is none). */
  kept(): string | undefined {
    return this.cutAt === undefined ? undefined : this.text.slice(0, this.cutAt);
  }
}
