import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApplicationSnapshot, ApplicationWatch } from '../../../src/argocd/application-watch.js';
import { createArgoCdClient, type ArgoCdClient } from '../../../src/argocd/argocd-client.js';
import { ArgoCdUnauthorized } from '../../../src/errors.js';
import { startArgoCdStandIn, type ArgoCdStandIn } from '../../../sandbox/argocd-stand-in.js';

const OLD = 'b'.repeat(40);
const NEW = 'c'.repeat(40);

/** Waits on the watch until `ok` holds for a snapshot, or fails after `ms`. */
async function until(
  watch: ApplicationWatch,
  ok: (s: ApplicationSnapshot) => boolean,
  ms = 5_000,
): Promise<ApplicationSnapshot> {
  const deadline = Date.now() + ms;
  let seen = -1;
  for (;;) {
    const s = await watch.next(seen, Math.max(0, deadline - Date.now()));
    if (ok(s)) return s;
    if (Date.now() >= deadline) throw new Error(`condition not met within ${ms} ms`);
    seen = s.version;
  }
}

async function waitFor(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const syncRevision = (s: ApplicationSnapshot) => s.application?.status?.sync?.revision;
const gets = (argo: ArgoCdStandIn) =>
  argo.requests.filter((r) => r.method === 'GET' && r.path === '/api/v1/applications/web-staging').length;

describe('Argo CD application watch stream', () => {
  let argo: ArgoCdStandIn;
  let client: ArgoCdClient;
  let watch: ApplicationWatch | undefined;
  beforeEach(async () => {
    argo = await startArgoCdStandIn();
    argo.addApplication('web-staging', { revision: OLD });
    argo.addApplication('api-staging', { revision: OLD });
    client = createArgoCdClient({
      server: argo.url,
      token: argo.token,
      timeoutMs: 2_000,
      retries: 1,
      backoffBaseMs: 5,
      watch: { fallbackPollMs: 100, resyncMs: 300, reconnectMinMs: 20, reconnectMaxMs: 50 },
    });
  });
  afterEach(async () => {
    watch?.close();
    watch = undefined;
    client.close();
    await argo.close();
  });

  it('streams the current state, then each change of the sync, with no GET', async () => {
    watch = client.watchApplication('web-staging');
    const first = await until(watch, (s) => s.application !== undefined);
    expect(syncRevision(first)).toBe(OLD);
    expect(watch.mode()).toBe('streaming');

    argo.onSync('web-staging', { delayMs: 50 });
    await client.sync('web-staging', { revision: NEW, runId: 'r1', sourceCommit: 'd'.repeat(40) });
    const running = await until(watch, (s) => s.application?.status?.operationState?.phase === 'Running');
    expect(running.application?.status?.operationState?.operation?.sync?.revision).toBe(NEW);
    const done = await until(
      watch,
      (s) => s.application?.status?.operationState?.phase === 'Succeeded' && syncRevision(s) === NEW,
    );
    expect(done.application?.status?.sync?.status).toBe('Synced');
    // Another application's changes are not ours: the stream was opened for one name.
    argo.mutateApplication('api-staging', (app) => (app.status.health = { status: 'Degraded' }));
    expect(argo.requests.find((r) => r.path === '/api/v1/stream/applications')?.query).toBe(
      '?name=web-staging',
    );
    expect(gets(argo)).toBe(0);
    expect(argo.streams.opened).toBe(1);
  });

  it('a connection dropped mid-event is reopened and resynced; the half event is discarded', async () => {
    watch = client.watchApplication('web-staging');
    await until(watch, (s) => s.application !== undefined);
    // The change lands while the stream is cut: only the reconnect's ADDED can tell us.
    argo.streams.dropMidEvent();
    argo.mutateApplication('web-staging', (app) => (app.status.sync.revision = NEW));
    const after = await until(watch, (s) => syncRevision(s) === NEW);
    expect(after.application?.metadata.name).toBe('web-staging');
    await waitFor(() => argo.streams.open === 1);
    expect(argo.streams.opened).toBe(2);
    expect(watch.mode()).toBe('streaming');
    // And the new stream carries later changes.
    argo.mutateApplication('web-staging', (app) => (app.status.health = { status: 'Progressing' }));
    const later = await until(watch, (s) => s.application?.status?.health?.status === 'Progressing');
    expect(syncRevision(later)).toBe(NEW);
  });

  it('a stream gone silent is caught by the resync GET and reopened; a quiet live one is kept', async () => {
    watch = client.watchApplication('web-staging');
    await until(watch, (s) => s.application !== undefined);
    // Quiet but alive: resync GETs find the streamed resourceVersion current, no reconnect.
    await waitFor(() => gets(argo) >= 2, 3_000);
    expect(argo.streams.opened).toBe(1);

    argo.streams.mute(true);
    argo.mutateApplication('web-staging', (app) => (app.status.sync.revision = NEW));
    const started = Date.now();
    const seen = await until(watch, (s) => syncRevision(s) === NEW, 3_000);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(syncRevision(seen)).toBe(NEW);
    await waitFor(() => argo.streams.opened >= 2);
    argo.streams.mute(false);
    argo.mutateApplication('web-staging', (app) => (app.status.health = { status: 'Suspended' }));
    await until(watch, (s) => s.application?.status?.health?.status === 'Suspended');
  });

  it('a 401 fails the watch with ArgoCdUnauthorized and is not retried', async () => {
    const bad = createArgoCdClient({ server: argo.url, token: 'wrong', retries: 0 });
    try {
      watch = bad.watchApplication('web-staging');
      await expect(watch.next(0, 2_000)).rejects.toSatisfy((err) => ArgoCdUnauthorized.is(err));
      await new Promise((r) => setTimeout(r, 200));
      expect(argo.requests.filter((r) => r.path === '/api/v1/stream/applications')).toHaveLength(1);
      expect(argo.requests.every((r) => !r.authorized && r.answered === 401)).toBe(true);
      expect(watch.mode()).toBe('closed');
    } finally {
      bad.close();
    }
  });

  it('falls back to a slow poll while the stream is refused, and stops polling once it is back', async () => {
    watch = client.watchApplication('web-staging');
    await until(watch, (s) => s.application !== undefined);
    argo.streams.refuse('503');
    argo.streams.dropMidEvent();
    await waitFor(() => watch!.mode() === 'polling');

    argo.mutateApplication('web-staging', (app) => (app.status.sync.revision = NEW));
    await until(watch, (s) => syncRevision(s) === NEW);
    expect(gets(argo)).toBeGreaterThanOrEqual(1);
    expect(argo.streams.open).toBe(0);

    argo.streams.refuse(null);
    await waitFor(() => watch!.mode() === 'streaming' && argo.streams.open === 1);
    const polled = gets(argo);
    await new Promise((r) => setTimeout(r, 250));
    // Back on the stream: no more fallback polls (a resync GET needs 300 ms of quiet).
    expect(gets(argo)).toBe(polled);
    argo.mutateApplication('web-staging', (app) => (app.status.health = { status: 'Missing' }));
    await until(watch, (s) => s.application?.status?.health?.status === 'Missing', 1_000);
  });
});
