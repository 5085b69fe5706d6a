import type { TrivyIgnore } from './schema.js';

export interface TrivyIgnorePartition {
  active: TrivyIgnore[];
  /** Ignores past their date: their findings count again, and the check output says so. */
  expired: TrivyIgnore[];
}

/**
 * Splits ignores by expiry. `expires` is the last day the ignore applies, in UTC, so an entry
 * with `expires: 2025-03-31` still ignores at 2025-03-31T23:59:59Z. `now` is a parameter for
 * testability and so one run judges all of its findings at one instant.
 */
export function partitionTrivyIgnores(ignores: readonly TrivyIgnore[], now: Date): TrivyIgnorePartition {
  const active: TrivyIgnore[] = [];
  const expired: TrivyIgnore[] = [];
  for (const ignore of ignores) {
    const endExclusive = Date.parse(`${ignore.expires}T00:00:00Z`) + 24 * 60 * 60 * 1000;
    (now.getTime() < endExclusive ? active : expired).push(ignore);
  }
  return { active, expired };
}
