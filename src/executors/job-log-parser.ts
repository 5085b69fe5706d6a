import { OutputTail } from '../process/output-tail.js';

const MAX_PENDING_LINE = 64 * 1024;

/**
 * Splits a gate container's log (streamed) into the command's own output (kept as a bounded
 * tail) and the report blocks the run script prints between nonce-carrying marker lines
 * (decoded, each bounded). Lines that look like markers but carry another nonce are output.
 */
export class JobLogParser {
  readonly tail: OutputTail;
  readonly reports: Record<string, string> = {};
  readonly reportProblems: Record<string, string> = {};
  exitCode: number | undefined;
  private pending = '';
  /** An empty line is held back: the run script prints one before each marker. */
  private heldEmpty = false;
  private block: { name: string; chunks: string[]; length: number; tooLarge: boolean } | undefined;
  private readonly begin: RegExp;
  private readonly end: RegExp;
  private readonly exit: RegExp;
  private readonly maxEncoded: number;

  constructor(
    private readonly nonce: string,
    logTailBytes: number,
    private readonly maxReportBytes: number,
  ) {
    this.tail = new OutputTail(logTailBytes);
    this.begin = new RegExp(`^::shipgate-report-begin ${nonce} ([A-Za-z0-9_-]+)::$`);
    this.end = new RegExp(`^::shipgate-report-end ${nonce} ([A-Za-z0-9_-]+)::$`);
    this.exit = new RegExp(`^::shipgate-exit ${nonce} (\\d+)::$`);
    this.maxEncoded = Math.ceil(maxReportBytes / 3) * 4 + 1024;
  }

  write(chunk: Buffer | string): void {
    this.pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      this.line(this.pending.slice(0, newline));
      this.pending = this.pending.slice(newline + 1);
    }
    // A flood without newlines must not grow memory; a line that long is never a marker.
    if (this.pending.length > MAX_PENDING_LINE) {
      if (this.block) this.append(this.pending);
      else {
        this.flushHeld();
        this.tail.write(this.pending);
      }
      this.pending = '';
    }
  }

  /** Call when the log stream ends. */
  finish(): void {
    this.flushHeld();
    if (this.pending !== '') {
      this.line(this.pending, false);
      this.pending = '';
    }
    if (this.block) {
      this.reportProblems[this.block.name] = 'the log ended inside the report (container killed?)';
      this.block = undefined;
    }
  }

  private line(line: string, newline = true): void {
    if (this.block) {
      const endMatch = this.end.exec(line);
      if (endMatch && endMatch[1] === this.block.name) {
        const { name, chunks, tooLarge } = this.block;
        this.block = undefined;
        if (tooLarge) {
          this.reportProblems[name] = `${name} report is over the ${this.maxReportBytes}-byte limit`;
          return;
        }
        const bytes = Buffer.from(chunks.join('').replace(/\s+/g, ''), 'base64');
        if (bytes.length > this.maxReportBytes) {
          this.reportProblems[name] = `${name} report is over the ${this.maxReportBytes}-byte limit`;
        } else this.reports[name] = bytes.toString('utf8');
        return;
      }
      this.append(line);
      return;
    }
    if (line === '' && newline) {
      this.flushHeld();
      this.heldEmpty = true;
      return;
    }
    const beginMatch = this.begin.exec(line);
    const exitMatch = beginMatch ? null : this.exit.exec(line);
    if (beginMatch || exitMatch) this.heldEmpty = false;
    else this.flushHeld();
    if (beginMatch) {
      this.block = { name: beginMatch[1]!, chunks: [], length: 0, tooLarge: false };
      return;
    }
    if (exitMatch) {
      this.exitCode = Number(exitMatch[1]);
      return;
    }
    this.tail.write(newline ? `${line}\n` : line);
  }

  private flushHeld(): void {
    if (this.heldEmpty) {
      this.heldEmpty = false;
      this.tail.write('\n');
    }
  }

  private append(text: string): void {
    const block = this.block!;
    if (block.tooLarge) return;
    block.length += text.length;
    if (block.length > this.maxEncoded) {
      block.tooLarge = true;
      block.chunks = [];
      return;
    }
    block.chunks.push(text);
  }
}
