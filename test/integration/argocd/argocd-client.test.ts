import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createArgoCdClient, type ArgoCdClient } from '../../../src/argocd/argocd-client.js';
import {
  ArgoCdNotFound,
  ArgoCdOperationInProgress,
  ArgoCdRejected,
  ArgoCdTlsFailed,
  ArgoCdUnauthorized,
  ArgoCdUnavailable,
} from '../../../src/errors.js';
import { startArgoCdStandIn, type ArgoCdStandIn } from '../../../sandbox/argocd-stand-in.js';

const REV = 'a'.repeat(40);

describe('Argo CD client against the stand-in', () => {
  let argo: ArgoCdStandIn;
  let client: ArgoCdClient;
  beforeEach(async () => {
    argo = await startArgoCdStandIn();
    argo.addApplication('web-staging', { revision: 'b'.repeat(40) });
    // random: () => 1 makes each backoff its upper bound (10, 20, 40, 80, 160 ms), 310 ms in
    // all: far longer than the 40 ms outages below, so a retry lands after them.
    client = createArgoCdClient({
      server: argo.url,
      token: argo.token,
      retries: 5,
      backoffBaseMs: 10,
      timeoutMs: 1_000,
      random: () => 1,
    });
  });
  afterEach(async () => {
    client.close();
    await argo.close();
  });

  it('gets an Application (fixture shape) with refresh, sending the bearer token', async () => {
    const app = await client.getApplication('web-staging', { refresh: 'hard' });
    expect(app.metadata.name).toBe('web-staging');
    expect(app.status?.sync).toMatchObject({ status: 'Synced', revision: 'b'.repeat(40) });
    expect(app.status?.health?.status).toBe('Healthy');
    // Unknown fields pass through untouched.
    expect((app.status as Record<string, unknown>).sourceType).toBe('Plugin');
    expect(argo.requests.at(-1)).toMatchObject({
      path: '/api/v1/applications/web-staging',
      query: '?refresh=hard',
      authorized: true,
    });
  });

  it('syncs with revision, prune and infos; a second sync while ours runs is already-running', async () => {
    argo.onSync('web-staging', { delayMs: 500 });
    const first = await client.sync('web-staging', {
      revision: REV,
      prune: true,
      runId: 'run-1',
      sourceCommit: 'c'.repeat(40),
    });
    expect(first.status).toBe('started');
    expect(argo.syncs[0]!.body).toEqual({
      name: 'web-staging',
      revision: REV,
      prune: true,
      infos: [
        { name: 'shipgate-run', value: 'run-1' },
        { name: 'source-commit', value: 'c'.repeat(40) },
      ],
    });
    const again = await client.sync('web-staging', {
      revision: REV,
      runId: 'run-1',
      sourceCommit: 'c'.repeat(40),
    });
    expect(again.status).toBe('already-running');
    const err = await client
      .sync('web-staging', { revision: 'd'.repeat(40), runId: 'run-2', sourceCommit: 'c'.repeat(40) })
      .catch((e: unknown) => e);
    expect(ArgoCdOperationInProgress.is(err)).toBe(true);
    expect((err as Error).message).toContain('another operation is already in progress');
  });

  it('runs Rollout actions with the v2 body and terminates operations (idempotently)', async () => {
    await client.rolloutAction('web-staging', { namespace: 'web', name: 'web' }, 'promote-full', {
      project: 'shipgate-apps',
    });
    expect(argo.actions[0]!.body).toEqual({
      name: 'web-staging',
      namespace: 'web',
      resourceName: 'web',
      group: 'argoproj.io',
      version: 'v1alpha1',
      kind: 'Rollout',
      action: 'promote-full',
      project: 'shipgate-apps',
    });
    await client.terminateOperation('web-staging'); // none running: not an error
    argo.onSync('web-staging', { delayMs: 5_000 });
    await client.sync('web-staging', { revision: REV, runId: 'r', sourceCommit: 's' });
    await client.terminateOperation('web-staging');
    expect(argo.application('web-staging').status.operationState.phase).toBe('Failed');
    expect(argo.terminations).toHaveLength(2);
  });

  it('retries 503 and connection resets with backoff, then succeeds', async () => {
    argo.setUnavailable('503', 40);
    await expect(client.getApplication('web-staging')).resolves.toBeDefined();
    argo.setUnavailable('reset', 40);
    await expect(client.getApplication('web-staging')).resolves.toBeDefined();
    expect(argo.requests.filter((r) => r.answered === 503).length).toBeGreaterThan(0);
    expect(argo.requests.filter((r) => r.answered === -1).length).toBeGreaterThan(0);
  });

  it('gives up after the bounded retries with a retryable error', async () => {
    argo.setUnavailable('503');
    const before = argo.requests.length;
    const err = await client.getApplication('web-staging').catch((e: unknown) => e);
    expect(ArgoCdUnavailable.is(err)).toBe(true);
    expect((err as { retryable: boolean }).retryable).toBe(true);
    expect(argo.requests.length - before).toBe(6); // 1 + 5 retries
  });

  it('does not retry 401, 404 or 400, and never leaks the token', async () => {
    const bad = createArgoCdClient({
      server: argo.url,
      token: 'wrong-token-value',
      retries: 3,
      backoffBaseMs: 10,
    });
    const before = argo.requests.length;
    const unauthorized = await bad.getApplication('web-staging').catch((e: unknown) => e);
    bad.close();
    expect(ArgoCdUnauthorized.is(unauthorized)).toBe(true);
    expect(argo.requests.length - before).toBe(1);
    expect(JSON.stringify(unauthorized)).not.toContain('wrong-token-value');
    expect(String((unauthorized as Error).message)).not.toContain('wrong-token-value');
    expect(ArgoCdNotFound.is(await client.getApplication('nope').catch((e: unknown) => e))).toBe(true);
    const rejected = await client
      .runResourceAction('web-staging', {
        namespace: 'web',
        resourceName: 'web',
        group: 'argoproj.io',
        version: 'v1alpha1',
        kind: 'Rollout',
        action: 'explode',
      })
      .catch((e: unknown) => e);
    expect(ArgoCdRejected.is(rejected)).toBe(true);
    expect((rejected as Error).message).toContain('action explode not found for Rollout');
  });

  it('times out a call that never answers', async () => {
    // A listening socket that accepts and never answers.
    const { createServer: createTcp } = await import('node:net');
    const silent = createTcp(() => undefined).listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const port = (silent.address() as AddressInfo).port;
    const hung = createArgoCdClient({
      server: `http://127.0.0.1:${port}`,
      token: 't',
      retries: 0,
      timeoutMs: 100,
    });
    const started = Date.now();
    const err = await hung.getApplication('x').catch((e: unknown) => e);
    expect(ArgoCdUnavailable.is(err)).toBe(true);
    expect((err as Error).message).toContain('ETIMEDOUT');
    expect(Date.now() - started).toBeLessThan(2_000);
    hung.close();
    silent.close();
  });
});

describe('Argo CD client over TLS with a private CA', () => {
  let dir: string;
  let server: Server;
  let url: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'argocd-tls-'));
    writeFileSync(path.join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    run([
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=Shipgate Test CA',
    ]);
    run([
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'srv.key',
      '-out',
      'srv.csr',
      '-subj',
      '/CN=localhost',
    ]);
    run([
      'x509',
      '-req',
      '-in',
      'srv.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'srv.pem',
      '-days',
      '1',
      '-extfile',
      'san.cnf',
    ]);
    server = createServer(
      { key: readFileSync(path.join(dir, 'srv.key')), cert: readFileSync(path.join(dir, 'srv.pem')) },
      (req, res) => {
        res.writeHead(req.headers.authorization === 'Bearer tls-token' ? 200 : 401, {
          'content-type': 'application/json',
        });
        res.end(
          JSON.stringify({
            metadata: { name: 'web' },
            status: { sync: { status: 'Synced', revision: REV } },
          }),
        );
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 30_000);
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('trusts the configured CA, refuses without it (not retried), and accepts insecure for development', async () => {
    const withCa = createArgoCdClient({
      server: url,
      token: 'tls-token',
      ca: readFileSync(path.join(dir, 'ca.pem')),
    });
    expect((await withCa.getApplication('web')).status?.sync?.revision).toBe(REV);
    withCa.close();

    const noCa = createArgoCdClient({ server: url, token: 'tls-token', retries: 3, backoffBaseMs: 10 });
    const err = await noCa.getApplication('web').catch((e: unknown) => e);
    noCa.close();
    expect(ArgoCdTlsFailed.is(err)).toBe(true);
    expect((err as { retryable: boolean }).retryable).toBe(false);
    expect((err as Error).message).toContain('ARGOCD_CA_FILE');

    const insecure = createArgoCdClient({ server: url, token: 'tls-token', insecure: true });
    expect((await insecure.getApplication('web')).metadata.name).toBe('web');
    insecure.close();
  });
});
