import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

interface GcOptions {
  type: 'major';
  execution: 'sync';
  /** `last-resort`: V8 collects everything it can and shrinks its young generation. */
  flavor: 'last-resort';
}

/**
 * One full collection once the server is built, before it listens, to give back what loading
 * its modules left behind.
 *
 * Why: module loading allocates fast enough that V8 grows each young-generation semi-space to
 * its maximum (16 MB) in the first second, and keeps it. Node 20's memory reducer shrinks it
 * after about 10 s of idling; Node 24's (the image's runtime) was not seen to within 90 s, so an
 * idle `serve` held 113 MB; with this collection it holds ~91 (BENCHMARKS.md, "Webhook ingest").
 * A young generation that traffic needs grows back on its own; this only drops the start-up one.
 * On Node 20 the borrowed `gc` does not shrink anything (its V8 predates the `last-resort`
 * flavour): there the memory reducer does it 10 s later.
 *
 * `gc` exists only with `--expose-gc`, which cannot be put in the image's entrypoint for one
 * command: the flag is set for the one vm context that fetches the function, then unset, so no
 * other code (a dependency's `global.gc` check) sees it. Costs one pause of ~10–50 ms at start.
 */
export function releaseStartupGarbage(): void {
  setFlagsFromString('--expose-gc');
  try {
    const gc = runInNewContext('gc') as (options: GcOptions) => void;
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}
