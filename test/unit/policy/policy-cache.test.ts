import { describe, expect, it } from 'vitest';
import { CommitShaInvalid, PolicyInvalid, PolicyMissing } from '../../../src/errors.js';
import { createPolicyCache } from '../../../src/policy/policy-cache.js';
import { EXAMPLE_POLICY_TEXT } from './policy-fixtures.js';

const sha = (n: number) => n.toString(16).padStart(40, '0');

function recordingReader(texts: Record<string, string | null | Error>) {
  const reads: string[] = [];
  const read = async (commit: string) => {
    reads.push(commit);
    await Promise.resolve();
    const value = texts[commit];
    if (value instanceof Error) throw value;
    return value ?? null;
  };
  return { read, reads };
}

describe('createPolicyCache', () => {
  it('parses a commit once and serves it from the cache after', async () => {
    const { read, reads } = recordingReader({ [sha(1)]: EXAMPLE_POLICY_TEXT });
    const cache = createPolicyCache(read);
    const [a, b] = await Promise.all([cache.get(sha(1)), cache.get(sha(1))]);
    const c = await cache.get(sha(1).toUpperCase());
    expect(a.repos.allow).toContain('acme/*');
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(reads).toEqual([sha(1)]);
  });

  it('turns a bad policy into a typed, non-retryable error with the issues, and remembers it', async () => {
    const { read, reads } = recordingReader({
      [sha(2)]: 'version: 1\nrepos: {}\nenvironments: {}\nbogus: 1\n',
    });
    const cache = createPolicyCache(read);
    const error = await cache.get(sha(2)).catch((e: unknown) => e);
    expect(PolicyInvalid.is(error)).toBe(true);
    expect(error).toMatchObject({
      retryable: false,
      details: {
        issues: [expect.objectContaining({ line: 4, yamlPath: 'bogus', file: 'shipgate/policy.yml' })],
      },
    });
    await expect(cache.get(sha(2))).rejects.toBe(error);
    expect(reads).toHaveLength(1);
  });

  it('reports a missing policy file', async () => {
    const cache = createPolicyCache(recordingReader({}).read);
    await expect(cache.get(sha(3))).rejects.toSatisfy((e) => PolicyMissing.is(e));
  });

  it('does not remember read failures, so they can be retried', async () => {
    const texts: Record<string, string | Error> = { [sha(4)]: new Error('socket hang up') };
    const { read, reads } = recordingReader(texts);
    const cache = createPolicyCache(read);
    await expect(cache.get(sha(4))).rejects.toThrow('socket hang up');
    texts[sha(4)] = EXAMPLE_POLICY_TEXT;
    await expect(cache.get(sha(4))).resolves.toMatchObject({ version: 1 });
    expect(reads).toHaveLength(2);
  });

  it('evicts the least recently used commit', async () => {
    const { read, reads } = recordingReader({
      [sha(1)]: EXAMPLE_POLICY_TEXT,
      [sha(2)]: EXAMPLE_POLICY_TEXT,
      [sha(3)]: EXAMPLE_POLICY_TEXT,
    });
    const cache = createPolicyCache(read, { maxEntries: 2 });
    await cache.get(sha(1));
    await cache.get(sha(2));
    await cache.get(sha(1)); // 1 is now the most recent
    await cache.get(sha(3)); // evicts 2
    expect(cache.size).toBe(2);
    await cache.get(sha(1));
    await cache.get(sha(2));
    expect(reads).toEqual([sha(1), sha(2), sha(3), sha(2)]);
  });

  it('refuses anything but a full commit sha without reading', async () => {
    const { read, reads } = recordingReader({});
    const cache = createPolicyCache(read);
    for (const bad of ['main', 'abc123', `${sha(1)}/../x`, '']) {
      await expect(cache.get(bad)).rejects.toSatisfy((e) => CommitShaInvalid.is(e));
    }
    expect(reads).toEqual([]);
  });
});
