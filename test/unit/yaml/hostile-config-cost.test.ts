import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PIPELINE_YAML_LIMITS, parsePipelineConfig } from '../../../src/pipeline/parse-pipeline-config.js';
import { POLICY_YAML_LIMITS, parsePolicy } from '../../../src/policy/parse-policy.js';

/**
 * Hostile configuration files cost bounded CPU. This is a bound on algorithmic blow-up, not a
 * benchmark: before the parsers were made linear, 9,900 unknown keys (88 KB) cost 26.6 s and a
 * pattern of 200 "*" 35.7 s. Each file is tried at 1 MB (refused by its size) and at just under
 * the size limit (the hard case: it is read). The bound is a second of CPU: far below a
 * blow-up (tens of seconds), far above what a linear parse costs on a loaded machine, where
 * `process.cpuUsage` also counts the GC threads (a 200 ms bound failed there at 241 ms). The
 * best of three runs keeps another process's cache misses out of the figure.
 */
const CPU_BUDGET_MS = 1000;
const MB = 1024 * 1024;

function cpuMs(run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 3; i += 1) {
    const started = process.cpuUsage();
    run();
    const used = process.cpuUsage(started);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}

/** `head`, then `line(i)` for i = 0, 1, … joined by `separator`, up to `bytes` (ASCII). */
function fill(head: string, line: (i: number) => string, bytes: number, separator = '\n'): string {
  const out = [head];
  let length = head.length;
  for (let i = 0; ; i += 1) {
    const next = line(i);
    if (length + separator.length + next.length > bytes) break;
    out.push(next);
    length += separator.length + next.length;
  }
  return out.join(separator);
}

function billionLaughs(): string {
  const lines = ['version: 1', 'a0: &a0 "lol"'];
  for (let i = 1; i <= 30; i += 1)
    lines.push(
      `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  return lines.join('\n');
}

/** Each builds a hostile file of about `bytes`. */
const HOSTILE: Record<string, (bytes: number) => string> = {
  'many unknown keys': (bytes) => fill('version: 1', (i) => `unknown${i}: 1`, bytes),
  'unknown keys with long values': (bytes) => fill('version: 1', (i) => `k${i}: ${'x'.repeat(300)}`, bytes),
  'many test.env keys': (bytes) => fill('version: 1\ntest:\n  env:', (i) => `    K${i}: v`, bytes),
  'many __proto__ keys': (bytes) => fill('version: 1\ntest:\n  env:', () => '    __proto__: v', bytes),
  'many duplicate keys': (bytes) => fill('version: 1', () => 'app: web', bytes),
  'deep flow nesting': (bytes) => `version: 1\nx: ${'['.repeat(bytes / 2 - 10)}${']'.repeat(bytes / 2 - 10)}`,
  'deep block nesting': (bytes) => fill('version: 1\nx:', (i) => `${' '.repeat(i + 1)}y:`, bytes),
  'aliases (billion laughs)': (bytes) => fill(billionLaughs(), (i) => `# ${i}`, bytes),
  'many "*" in repo patterns': (bytes) =>
    fill('version: 1\nenvironments: {}\nrepos:\n  allow:', () => `    - "*/${'*a'.repeat(45)}*b"`, bytes),
  'wildcards against many grants': (bytes) =>
    fill(
      `version: 1\nenvironments: {s: {namespace: s}}\nrepos:\n  allow: [${Array.from(
        { length: 100 },
        (_, i) => `"*/*a*a*z${i}"`,
      ).join(', ')}]\n  grants:`,
      (i) => `    acme/a${i}a: {app: a, environments: {s: {path: p${i}}}}`,
      bytes,
    ),
  'many badly typed entries': (bytes) =>
    fill('version: 1\nenvironments:', (i) => `  e${i}: {namespace: 1}`, bytes),
  'many overlapping grant paths': (bytes) =>
    fill(
      'version: 1\nenvironments: {s: {namespace: s}}\nrepos:\n  allow: ["acme/*"]\n  grants:',
      (i) => `    acme/r${i}: {app: a, environments: {s: {path: apps/x/${'y/'.repeat(i % 20)}z}}}`,
      bytes,
    ),
};

const PARSERS = [
  { name: '.shipgate.yml', limits: PIPELINE_YAML_LIMITS, parse: parsePipelineConfig },
  { name: 'the policy', limits: POLICY_YAML_LIMITS, parse: parsePolicy },
] as const;

beforeAll(() => {
  // Warm the JIT on honest files first: the bound is on the algorithm, not on compiling it.
  const pipeline = readFileSync(new URL('../pipeline/examples/shipgate.yml', import.meta.url), 'utf8');
  const policy = readFileSync(new URL('../policy/examples/policy.yml', import.meta.url), 'utf8');
  for (let i = 0; i < 5; i += 1) {
    expect(parsePipelineConfig(pipeline).ok).toBe(true);
    expect(parsePolicy(policy).ok).toBe(true);
  }
});

describe.each(PARSERS)('a hostile $name', ({ limits, parse }) => {
  const limit = limits.maxBytes!;

  it('with as many unknown keys as its token budget allows gets 50 located issues and a count', () => {
    // key, ":", value and a line break: four tokens per line. Every one of these is parsed,
    // validated and refused, so this is the worst case for locating issues.
    const keys = Math.floor(limits.maxTokens! / 4) - 10;
    const text = `version: 1\n${Array.from({ length: keys }, (_, i) => `unknown${i}: 1`).join('\n')}\n`;
    let result: ReturnType<typeof parse> | undefined;
    const used = cpuMs(() => {
      result = parse(text);
    });
    if (result!.ok) throw new Error('expected a refusal');
    const errors = result!.errors;
    expect(errors).toHaveLength(51);
    expect(errors.filter((e) => e.message.startsWith('unknown key "unknown')).length).toBeGreaterThan(0);
    expect(errors[50]!.message).toMatch(/^\d+ more problems are not listed/);
    expect(used, `${keys} unknown keys took ${used.toFixed(1)} ms of CPU`).toBeLessThan(CPU_BUDGET_MS);
  });

  it.each(Object.keys(HOSTILE))(
    'with %s is refused within the CPU budget, at 1 MB and at the limit',
    (shape) => {
      for (const bytes of [MB, limit - 1]) {
        const text = HOSTILE[shape]!(bytes);
        expect(text.length).toBeLessThanOrEqual(bytes);
        expect(text.length).toBeGreaterThan(bytes * 0.9);
        let result: ReturnType<typeof parse> | undefined;
        const used = cpuMs(() => {
          result = parse(text);
        });
        expect(result!.ok, `${shape} (${bytes} bytes) must be refused`).toBe(false);
        if (!result!.ok) {
          expect(result!.errors.length).toBeGreaterThan(0);
          expect(result!.errors.length).toBeLessThanOrEqual(51);
        }
        expect(used, `${shape} (${bytes} bytes) took ${used.toFixed(1)} ms of CPU`).toBeLessThan(
          CPU_BUDGET_MS,
        );
      }
    },
  );
});
