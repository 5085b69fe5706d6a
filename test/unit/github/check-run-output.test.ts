import { describe, expect, it } from 'vitest';
import {
  MAX_ANNOTATIONS,
  OUTPUT_TEXT_MAX_CHARS,
  chunk,
  prepareAnnotations,
  truncateOutputText,
  type CheckAnnotation,
} from '../../../src/github/check-run-output.js';

const valid: CheckAnnotation = {
  path: 'src/app.ts',
  start_line: 3,
  end_line: 3,
  annotation_level: 'failure',
  message: 'boom',
};

describe('truncateOutputText', () => {
  it('leaves text within the limit alone', () => {
    const text = 'a'.repeat(OUTPUT_TEXT_MAX_CHARS);
    expect(truncateOutputText(text)).toBe(text);
  });

  it('cuts to the limit, says so, and never splits a surrogate pair', () => {
    for (const filler of ['a'.repeat(70_000), '😀'.repeat(40_000), `a${'😀'.repeat(40_000)}`]) {
      const cut = truncateOutputText(filler);
      expect(cut.length).toBeLessThanOrEqual(OUTPUT_TEXT_MAX_CHARS);
      expect(cut).toMatch(/truncated by Shipgate/);
      expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    }
  });
});

describe('prepareAnnotations', () => {
  it('accepts valid annotations and trims over-long titles and messages', () => {
    const { annotations, dropped } = prepareAnnotations([
      { ...valid, title: 't'.repeat(300), message: 'm'.repeat(70_000) },
      { ...valid, start_column: 2, end_column: 5 },
    ]);
    expect(dropped).toBe(0);
    expect(annotations[0]?.title).toHaveLength(255);
    expect(annotations[0]?.message.length).toBeLessThanOrEqual(65_535);
    expect(annotations[1]).toMatchObject({ start_column: 2, end_column: 5 });
  });

  it.each([
    [{ path: '' }, 'path'],
    [{ path: '/etc/passwd' }, 'relative to the repository root'],
    [{ start_line: 0 }, 'start_line'],
    [{ start_line: 5, end_line: 4 }, 'end_line is before start_line'],
    [{ annotation_level: 'error' }, 'annotation_level'],
    [{ message: '' }, 'message'],
    [{ end_line: 4, start_column: 1 }, 'single-line'],
  ] as [Partial<CheckAnnotation>, string][])('refuses %j (%s)', (patch, why) => {
    let error: unknown;
    try {
      prepareAnnotations([valid, { ...valid, ...patch } as CheckAnnotation]);
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: 'SHIPGATE_E_GITHUB_INVALID_INPUT', retryable: false });
    expect((error as Error).message).toContain('annotation 1');
    expect((error as Error).message).toContain(why);
  });

  it(`keeps the first ${MAX_ANNOTATIONS} and counts the rest`, () => {
    const many = Array.from({ length: MAX_ANNOTATIONS + 7 }, (_, i) => ({ ...valid, message: `m${i}` }));
    const { annotations, dropped } = prepareAnnotations(many);
    expect(annotations).toHaveLength(MAX_ANNOTATIONS);
    expect(annotations.at(-1)?.message).toBe(`m${MAX_ANNOTATIONS - 1}`);
    expect(dropped).toBe(7);
  });
});

describe('chunk', () => {
  it('splits into batches of at most n, in order', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 50)).toEqual([]);
  });
});
