import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { releaseStartupGarbage } from '../../../src/process/release-startup-garbage.js';

// What it gives back is measured by `npm run bench:ingest` (idle RSS of the compiled serve);
// here, that it leaves no trace of the `--expose-gc` it borrows.
describe('releaseStartupGarbage', () => {
  it('leaves `gc` exposed neither to this context nor to contexts made later', () => {
    releaseStartupGarbage();
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe('undefined');
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });

  it('can run again (a process that starts a second server)', () => {
    releaseStartupGarbage();
    expect(() => releaseStartupGarbage()).not.toThrow();
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
