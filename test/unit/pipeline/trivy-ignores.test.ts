import { describe, expect, it } from 'vitest';
import { partitionTrivyIgnores } from '../../../src/pipeline/trivy-ignores.js';

const ignores = [
  { id: 'CVE-1', reason: 'not reachable', expires: '2025-03-31' },
  { id: 'CVE-2', reason: 'fixed upstream soon', expires: '2025-04-01' },
];

describe('partitionTrivyIgnores', () => {
  it('keeps an ignore through the whole of its last day (UTC)', () => {
    const { active, expired } = partitionTrivyIgnores(ignores, new Date('2025-03-31T23:59:59.999Z'));
    expect(active.map((i) => i.id)).toEqual(['CVE-1', 'CVE-2']);
    expect(expired).toEqual([]);
  });

  it('expires it at the next midnight UTC', () => {
    const { active, expired } = partitionTrivyIgnores(ignores, new Date('2025-04-01T00:00:00Z'));
    expect(active.map((i) => i.id)).toEqual(['CVE-2']);
    expect(expired.map((i) => i.id)).toEqual(['CVE-1']);
  });
});
