import { describe, expect, it } from 'vitest';
import { parseYamlSafely, type SafeYamlResult } from '../../../src/yaml/parse-yaml-safely.js';
import { formatYamlPath, parseYamlPath } from '../../../src/yaml/yaml-path.js';

function documents(result: SafeYamlResult) {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.errors)}`);
  return result.documents;
}

function errors(result: SafeYamlResult) {
  if (result.ok) throw new Error('expected errors');
  return result.errors;
}

// The classic "billion laughs": each level references the previous one nine times.
function billionLaughs(levels: number): string {
  const lines = ['a0: &a0 "lol"'];
  for (let i = 1; i <= levels; i += 1) {
    lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(', ')}]`);
  }
  return `${lines.join('\n')}\n`;
}

describe('parseYamlSafely limits', () => {
  it('refuses a source larger than maxBytes at line 1, counting UTF-8 bytes', () => {
    const text = `a: "${'é'.repeat(600)}"\n`; // 600 characters, 1200 bytes
    const [issue] = errors(parseYamlSafely(text, { maxBytes: 1000 }));
    expect(issue).toMatchObject({ code: 'too_large', line: 1, column: 1 });
    expect(documents(parseYamlSafely(text, { maxBytes: 2000 }))[0]!.value).toEqual({ a: 'é'.repeat(600) });
  });

  it('refuses a billion-laughs document before expanding it', () => {
    const started = Date.now();
    const [issue] = errors(parseYamlSafely(billionLaughs(9)));
    expect(issue).toMatchObject({ code: 'expansion_limit', line: 1, column: 1 });
    expect(issue!.message).toMatch(/billion laughs/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('accepts modest alias reuse below the limits', () => {
    const [doc] = documents(parseYamlSafely(billionLaughs(2)));
    const value = doc!.value as Record<string, unknown>;
    expect((value.a2 as unknown[]).flat()).toHaveLength(81);
  });

  it('refuses long strings multiplied by aliases (character budget)', () => {
    const big = 'x'.repeat(50_000);
    const text = `s: &s "${big}"\nlist: [${Array.from({ length: 50 }, () => '*s').join(', ')}]\n`;
    const [issue] = errors(parseYamlSafely(text, { maxResolvedScalarChars: 1_000_000 }));
    expect(issue!.code).toBe('expansion_limit');
  });

  it('refuses more aliases than maxAliasCount', () => {
    const text = `a: &a 1\nb: [${Array.from({ length: 11 }, () => '*a').join(', ')}]\n`;
    expect(errors(parseYamlSafely(text, { maxAliasCount: 10 }))[0]!.code).toBe('alias_limit');
    expect(parseYamlSafely(text, { maxAliasCount: 11 }).ok).toBe(true);
  });

  it('refuses an alias that refers to its own ancestor', () => {
    const [issue] = errors(parseYamlSafely('a: &a\n  - x\n  - *a\n'));
    expect(issue!.code).toBe('recursive_alias');
    expect(issue!.message).toContain('line 3');
  });

  it('refuses nesting deeper than maxDepth', () => {
    const text = `${'['.repeat(40)}${']'.repeat(40)}\n`;
    expect(errors(parseYamlSafely(text, { maxDepth: 32 }))[0]!.code).toBe('too_deep');
    expect(parseYamlSafely(text, { maxDepth: 64 }).ok).toBe(true);
  });

  it('survives pathological nesting within the size limit', () => {
    const text = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parseYamlSafely(text, { maxBytes: 300_000 }).ok).toBe(false);
  });
});

describe('parseYamlSafely errors', () => {
  it('reports syntax errors with 1-based line and column, sorted', () => {
    const text = 'a: 1\nb: [1, 2\nc: 3\n';
    const list = errors(parseYamlSafely(text));
    expect(list[0]).toMatchObject({ code: 'syntax', line: 3, column: 1 });
  });

  it('reports duplicate keys on the second key', () => {
    const [issue] = errors(parseYamlSafely('a: 1\nb: 2\na: 3\n'));
    expect(issue).toMatchObject({ code: 'duplicate_key', line: 3, column: 1 });
    expect(issue!.message).toBe('map keys must be unique: "a" is already defined at line 1');
  });

  it('treats unresolved tags as errors by default, and as warnings on request', () => {
    const text = 'a: !!python/object:os.system "id"\n';
    expect(errors(parseYamlSafely(text))[0]).toMatchObject({ line: 1, column: 4 });
    expect(documents(parseYamlSafely(text, { warningsAsErrors: false }))[0]!.value).toEqual({ a: 'id' });
  });

  it('refuses a second document in single-document mode, pointing at it', () => {
    const text = 'a: 1\n---\nb: 2\n';
    expect(errors(parseYamlSafely(text, { singleDocument: true }))[0]).toMatchObject({
      code: 'multiple_documents',
      line: 2,
      documentIndex: 1,
    });
    expect(documents(parseYamlSafely(text)).map((d) => d.value)).toEqual([{ a: 1 }, { b: 2 }]);
  });

  it('gives an empty file one null document in single-document mode', () => {
    expect(documents(parseYamlSafely('', { singleDocument: true }))[0]!.value).toBeNull();
    expect(documents(parseYamlSafely(''))).toHaveLength(0);
  });

  it('refuses __proto__, constructor and prototype keys with their line and column', () => {
    const text = [
      'a: 1',
      '__proto__:',
      '  polluted: true',
      'env: { constructor: x }',
      'list:',
      '  - prototype: 1',
      '"__proto__" : 2',
    ].join('\n');
    const list = errors(parseYamlSafely(text));
    expect(list.map((i) => [i.code, i.line, i.column])).toEqual([
      ['forbidden_key', 2, 1],
      ['forbidden_key', 4, 8],
      ['forbidden_key', 6, 5],
      ['forbidden_key', 7, 1],
      // The quoted key is the same JavaScript key as the plain one above.
      ['duplicate_key', 7, 1],
    ]);
    expect(list[0]!.message).toBe('the key "__proto__" is not allowed: it names JavaScript object internals');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps such keys when asked (for files that are data, not configuration)', () => {
    const [doc] = documents(
      parseYamlSafely('__proto__:\n  polluted: true\n', { refusePrototypeKeys: false }),
    );
    const value = doc!.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(value)).toEqual(['__proto__']);
  });

  it('finds duplicates as JavaScript sees them: 1 and "1" are one key', () => {
    expect(errors(parseYamlSafely('1: a\n"1": b\n'))[0]).toMatchObject({ code: 'duplicate_key', line: 2 });
    expect(errors(parseYamlSafely('m: {x: 1, x: 2}\n'))[0]).toMatchObject({ line: 1, column: 11 });
  });

  it('lists the first maxIssues problems and counts the rest in one closing issue', () => {
    const text = Array.from({ length: 30 }, () => 'k: 1').join('\n');
    const list = errors(parseYamlSafely(text, { maxIssues: 5 }));
    expect(list).toHaveLength(6);
    expect(list.slice(0, 5).map((i) => i.line)).toEqual([2, 3, 4, 5, 6]);
    expect(list[5]).toMatchObject({ code: 'too_many_issues', line: 1, column: 1 });
    expect(list[5]!.message).toBe('24 more problems are not listed: fix the ones above first');
  });

  it('refuses a file with more tokens than maxTokens before parsing it', () => {
    // k0, :, [, a, ",", "b", ",", 'c', # c: nine per line, and 99 line breaks.
    const text = Array.from({ length: 100 }, (_, i) => `k${i}: [a, "b", 'c'] # c`).join('\n');
    const [issue] = errors(parseYamlSafely(text, { maxTokens: 998 }));
    expect(issue).toMatchObject({ code: 'too_many_tokens', line: 1, column: 1 });
    expect(documents(parseYamlSafely(text, { maxTokens: 999 }))[0]!.value).toHaveProperty('k99');
  });

  it('refuses deep flow nesting before the parser recurses into it', () => {
    const [issue] = errors(parseYamlSafely(`a: ${'['.repeat(33)}${']'.repeat(33)}`, { maxDepth: 32 }));
    expect(issue).toMatchObject({ code: 'too_deep', line: 1, column: 1 });
  });
});

describe('locate', () => {
  const text = [
    'version: 1', // 1
    'app: web', // 2
    'test:', // 3
    '  command: npm test', // 4
    '  env: { A: "1", "b.c": x }', // 5
    'base: &base', // 6
    '  path: deploy/base', // 7
    'environments:', // 8
    '  - staging', // 9
    '  - name: production', // 10
    '    extra: *base', // 11
    'empty:', // 12
  ].join('\n');
  const [doc] = documents(parseYamlSafely(text));

  it.each([
    ['version', 1, 10, true],
    ['test', 3, 1, true],
    ['test.command', 4, 12, true],
    ['test.env.A', 5, 13, true],
    ['test.env["b.c"]', 5, 25, true],
    ['environments[0]', 9, 5, true],
    ['environments[1]', 10, 5, true],
    ['environments[1].name', 10, 11, true],
    ['environments[1].extra', 11, 5, true],
    ['environments[1].extra.path', 7, 9, true],
    ['empty', 12, 1, true],
    ['test.missing', 3, 1, false],
    ['environments[5]', 8, 1, false],
    ['nothing.at.all', 1, 1, false],
  ] as const)('%s is at %i:%i', (path, line, column, found) => {
    expect(doc!.locate(path)).toEqual({ line, column, found });
  });

  it('points at the key when asked', () => {
    expect(doc!.locate(['test', 'command'], 'key')).toEqual({ line: 4, column: 3, found: true });
    expect(doc!.locate(['test', 'env', 'A'], 'key')).toEqual({ line: 5, column: 10, found: true });
  });
});

describe('YAML paths', () => {
  it.each([
    [['environments', 1, 'name'], 'environments[1].name'],
    [['repos', 'grants', 'acme/web', 'app'], 'repos.grants["acme/web"].app'],
    [['a', 'b.c', 0, 'd-e'], 'a["b.c"][0].d-e'],
    [[], ''],
    [['x y', 'q"uote'], '["x y"]["q\\"uote"]'],
  ] as const)('%j <-> %s', (segments, text) => {
    expect(formatYamlPath(segments)).toBe(text);
    expect(parseYamlPath(text)).toEqual(segments);
  });

  it('rejects malformed paths', () => {
    expect(() => parseYamlPath('a[x]')).toThrow(SyntaxError);
    expect(() => parseYamlPath('a["b')).toThrow(SyntaxError);
    expect(() => parseYamlPath('.a')).toThrow(SyntaxError);
  });
});
