import { fileURLToPath } from 'node:url';

/**
 * Recorded wire formats (GitHub, Slack, Argo CD, Rollouts, Trivy, ZAP) that the tests replay.
 * They live in the repository, with their provenance in `test/fixtures/PROVENANCE.md`, so a
 * fresh clone tests itself with nothing beside it. Resolved from this file, never from the
 * working directory, so any runner or folder finds them.
 */
export const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));

/** Absolute path of a file or folder under the test fixtures. */
export function fixturePath(...parts: string[]): string {
  return [FIXTURES, ...parts].join('/');
}
