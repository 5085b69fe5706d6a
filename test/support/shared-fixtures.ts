import { fileURLToPath } from 'node:url';

/**
 * The shared fixtures live beside the repository (`../shared/fixtures`), wherever it is
 * checked out: CI clones main somewhere else than a developer does, so no absolute paths.
 */
export const SHARED_FIXTURES = fileURLToPath(new URL('../../../shared/fixtures', import.meta.url));

/** Absolute path of a file or folder under the shared fixtures. */
export function sharedFixture(...parts: string[]): string {
  return [SHARED_FIXTURES, ...parts].join('/');
}
