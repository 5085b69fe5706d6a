/**
 * Keeps only the last `limitBytes` of a byte stream, so a command that floods its output
 * cannot grow the worker's memory. Chunks are kept as received and trimmed from the front.
 */
export class OutputTail {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** Every byte ever written, including the ones dropped. */
  totalBytes = 0;

  constructor(readonly limitBytes: number) {
    if (!Number.isInteger(limitBytes) || limitBytes <= 0) throw new RangeError('limitBytes must be > 0');
  }

  write(chunk: Buffer | string): void {
    let buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.totalBytes += buf.length;
    if (buf.length >= this.limitBytes) {
      // Copy: a subarray would pin the whole (possibly huge) chunk in memory.
      buf = Buffer.from(buf.subarray(buf.length - this.limitBytes));
      this.chunks.length = 0;
      this.kept = 0;
    }
    this.chunks.push(buf);
    this.kept += buf.length;
    while (this.kept > this.limitBytes) {
      const first = this.chunks[0]!;
      const excess = this.kept - this.limitBytes;
      if (first.length <= excess) {
        this.chunks.shift();
        this.kept -= first.length;
      } else {
        this.chunks[0] = Buffer.from(first.subarray(excess));
        this.kept -= excess;
      }
    }
  }

  get truncated(): boolean {
    return this.totalBytes > this.kept;
  }

  /** The kept bytes as UTF-8; a multi-byte character cut at the front becomes U+FFFD. */
  toString(): string {
    const text = Buffer.concat(this.chunks, this.kept).toString('utf8');
    return this.truncated ? text.replace(/^\uFFFD+/, '') : text;
  }
}
