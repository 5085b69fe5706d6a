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
    expect(issue).toMatchObject({ code: 'syntax', line: 3, column: 1 });
    expect(issue!.message).toMatch(/unique/i);
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

  it('does not let __proto__ keys change prototypes', () => {
    const [doc] = documents(parseYamlSafely('__proto__:\n  polluted: true\n'));
    const value = doc!.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(value)).toEqual(['__proto__']);
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
