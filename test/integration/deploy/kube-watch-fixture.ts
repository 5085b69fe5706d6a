/**
 * What the Kubernetes watch tests (watch-rollout.test.ts, watch-deployment.test.ts) share: a
 * Kubernetes API stand-in per test with the watch under test opened on it, a wait for the
 * watch's snapshot to reach a state, and the check that a refused first list fails fast with a
 * typed error.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, beforeEach, expect } from 'vitest';
import type { ListWatchOptions, SnapshotWatch } from '../../../src/deploy/kube-list-watch.js';
import { KubeWatchFailed } from '../../../src/errors.js';
import { startKubeApiStandIn, type KubeStandIn } from '../../../sandbox/kube-api-stand-in.js';

/** Relists within milliseconds, so a dropped watch is back before a test's wait times out. */
const FAST_RELIST: ListWatchOptions = { backoffMs: 10, maxBackoffMs: 50 };

/** A client config for `kube`; with `token`, one that presents that token instead of its own. */
function kubeConfigFor(kube: KubeStandIn, token?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  if (token !== undefined) kc.users[0] = { ...kc.users[0]!, token };
  return kc;
}

export interface KubeWatchFixture<W> {
  /** This test's stand-in. */
  readonly kube: KubeStandIn;
  /** Opens the watch under test on it (relisting fast); it is closed after the test. */
  open(): Promise<W>;
}

/** Registers the hooks that give each test of the suite a fresh stand-in, and close it after. */
export function useKubeWatch<W extends { close(): void }>(
  openWatch: (kc: KubeConfig, options: ListWatchOptions) => Promise<W>,
): KubeWatchFixture<W> {
  let kube: KubeStandIn | undefined;
  let watch: W | undefined;
  beforeEach(async () => {
    kube = await startKubeApiStandIn();
  });
  afterEach(async () => {
    watch?.close();
    watch = undefined;
    await kube?.close();
  });
  return {
    get kube() {
      if (kube === undefined) throw new Error('the Kubernetes stand-in exists only inside a test');
      return kube;
    },
    async open() {
      watch = await openWatch(kubeConfigFor(this.kube), FAST_RELIST);
      return watch;
    },
  };
}

/** Waits (5 s at most) on the watch's snapshots until `predicate` holds. */
export async function untilSnapshot(
  w: SnapshotWatch<{ version: number }>,
  predicate: () => boolean,
  what: string,
): Promise<void> {
  const deadline = Date.now() + 5_000;
  let version = w.snapshot().version;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    version = (await w.next(version, 100)).version;
  }
}

/** `open` with a wrong token rejects with `KubeWatchFailed`, and its message leaks no token. */
export async function expectRefusedFirstListFailsTyped(
  kube: KubeStandIn,
  open: (kc: KubeConfig) => Promise<unknown>,
): Promise<void> {
  const err = await open(kubeConfigFor(kube, 'wrong')).catch((e: unknown) => e);
  expect(KubeWatchFailed.is(err)).toBe(true);
  expect((err as Error).message).not.toContain(kube.token);
}
