// The stage transcript: one JSON object per line on stdout (the Pod log), secrets redacted. The
// failure report of the run role is one line of it (event "failure-report"), so the operator can
// take it from the log with parseFailureReport() in runner/report.ts.
import { redact } from '../util/secrets.js';

export type TranscriptEvent = { event: string } & Record<string, unknown>;

export class Transcript {
  constructor(
    private readonly secrets: readonly string[] = [],
    private readonly write: (line: string) => void = (l) => process.stdout.write(l),
  ) {}

  log(event: string, fields: Record<string, unknown> = {}): void {
    const line = JSON.stringify({ ts: new Date().toISOString(), event, ...fields });
    this.write(redact(line, this.secrets) + '\n');
  }
}
