import { describe, expect, it } from 'vitest';
import { boundedLogTail } from '../../../src/runs/gate-log.js';

describe('boundedLogTail', () => {
  it('keeps the last lines, within the line and byte limits', () => {
    const text = Array.from({ length: 500 }, (_, i) => `line ${i + 1}`).join('\n');
    const { tail, truncated } = boundedLogTail(text, false, { lines: 100, bytes: 16 * 1024 });
    expect(tail.split('\n')).toHaveLength(100);
    expect(tail.split('\n')[0]).toBe('line 401');
    expect(tail.endsWith('line 500')).toBe(true);
    expect(truncated).toBe(true);
    const small = boundedLogTail(text, false, { lines: 100, bytes: 100 });
    expect(Buffer.byteLength(small.tail)).toBeLessThanOrEqual(100);
    expect(small.tail.endsWith('line 500')).toBe(true);
  });

  it('drops a first line the executor cut in the middle, so no half secret is kept', () => {
    const { tail, truncated } = boundedLogTail('ret-half-of-a-secret\nnext\nlast', true);
    expect(tail).toBe('next\nlast');
    expect(truncated).toBe(true);
  });

  it('strips terminal escapes and control characters, keeps short output whole', () => {
    expect(boundedLogTail('\u001b[31mred\u001b[0m\u0007 ok\r\ndone\n', false)).toEqual({
      tail: 'red ok\ndone',
      truncated: false,
    });
  });

  it('cuts one over-long line on a character boundary', () => {
    const { tail } = boundedLogTail('é'.repeat(100), false, { lines: 10, bytes: 51 });
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(51);
    expect(tail).toBe('é'.repeat(25));
  });
});
