import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis/embedded-redis.js';
import { APPROVER, createDemoWorld, git, type DemoWorld } from '../../sandbox/demo-world.js';
import {
  startOtlpReceiverStandIn,
  type OtlpReceiverStandIn,
  type ReceivedSpan,
} from '../../sandbox/otlp-receiver-stand-in.js';
import { installFakeScanners, type FakeScanners } from '../support/fake-scanners/install.js';
import { fixturePath } from '../support/fixtures.js';
import { startShipgateRole, type ShipgateRoleProcess } from '../support/shipgate-role.js';

/**
 * Issue 16: one trace per release, across processes. A `serve` process and a worker take a tag
 * to staging; the worker is stopped while production waits for its approval (a rolling restart);
 * a second worker takes the approval and production. Every process exports over OTLP/HTTP to a
 * receiver stand-in, configured by the standard OTEL_* variables only. The production commit's
 * `Shipgate-Trace` trailer names a trace that holds the webhook, the gates, the staging and
 * production deploys and the approval, from all three processes, in order.
 */
describe('one trace from webhook to production, across three processes', () => {
  let dir: string;
  let world: DemoWorld;
  let scanners: FakeScanners;
  let receiver: OtlpReceiverStandIn;
  let env: Record<string, string>;
  const processes: ShipgateRoleProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sg-trace-'));
    // The sandboxed gates' unprivileged uid must pass through to the data folder.
    chmodSync(dir, 0o755);
    receiver = await startOtlpReceiverStandIn();
    world = await createDemoWorld(path.join(dir, 'world'));
    scanners = installFakeScanners();
    scanners.configure({
      trivy: { fixture: fixturePath('trivy/image-no-vulnerabilities.json') },
      zap: { fixture: fixturePath('zap/baseline-zap2.14-medium-low-info.json') },
    });
    env = {
      ...world.shipgateEnv,
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      SHIPGATE_QUEUE_PREFIX: `sg-trace-${process.pid}-${Date.now()}`,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      PATH: `${scanners.binDir}:${process.env.PATH ?? ''}`,
      SHIPGATE_TEST_SCANNER_DIR: scanners.binDir,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'shipgate',
      OTEL_TRACES_SAMPLER: 'always_on',
      // Export often: the test reads the spans once the processes have stopped.
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(processes.map((p) => p.stop(5000)));
    await world?.close();
    scanners?.cleanup();
    await receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const start = async (role: 'serve' | 'work', instance: string, port = 0) => {
    const p = await startShipgateRole(role, {
      ...env,
      PORT: String(port),
      OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${instance}`,
    });
    processes.push(p);
    return p;
  };

  it('the production commit names a trace covering every stage from all three processes', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // The world signs people in to the console too, which needs Shipgate's public address.
    env.SHIPGATE_PUBLIC_URL = base;
    await start('serve', 'serve', port);
    const workerA = await start('work', 'work-a');
    const api = async (pathname: string, init: RequestInit = {}) => {
      const res = await fetch(`${base}${pathname}`, {
        ...init,
        headers: {
          authorization: `Bearer ${env.SHIPGATE_API_TOKEN}`,
          'content-type': 'application/json',
          ...(init.headers as Record<string, string> | undefined),
        },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    type RunView = { id: string; state: string; tag?: string; reason?: string };
    const waitForRun = async (done: (r: RunView) => boolean, what: string) => {
      const deadline = Date.now() + 150_000;
      for (;;) {
        const { body } = await api('/api/runs?repo=acme/web');
        const run = (body.runs as RunView[]).find((r) => r.tag === 'v1.0.0');
        if (run && done(run)) return run;
        if (Date.now() > deadline) {
          throw new Error(
            `${what}: run is ${JSON.stringify(run)}\n${processes.map((p) => p.output()).join('\n')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    };

    // The tag push, as GitHub sends it, retargeted at the world's app repo.
    const sha = world.publishApp();
    git(world.app.work, ['tag', 'v1.0.0', sha]);
    git(world.app.work, ['push', '-q', 'origin', 'main', 'v1.0.0']);
    const push = JSON.parse(
      readFileSync(fixturePath('github/push-tag-created.docs-example.json'), 'utf8'),
    ) as Record<string, unknown>;
    Object.assign(push, {
      ref: 'refs/tags/v1.0.0',
      after: sha,
      created: true,
      deleted: false,
      installation: { id: 1001 },
      sender: { ...(push.sender as object), login: 'releaser-gh' },
      repository: {
        ...(push.repository as object),
        name: 'web',
        full_name: 'acme/web',
        owner: { ...((push.repository as { owner: object }).owner ?? {}), login: 'acme' },
      },
    });
    const text = JSON.stringify(push);
    const delivered = await fetch(`${base}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'GitHub-Hookshot/test',
        'x-github-event': 'push',
        'x-github-delivery': crypto.randomUUID(),
        'x-github-hook-id': '1',
        'x-github-hook-installation-target-id': '4242',
        'x-github-hook-installation-target-type': 'integration',
        'x-hub-signature-256': await sign(env.GITHUB_WEBHOOK_SECRET!, text),
      },
      body: text,
    });
    expect(delivered.status).toBe(202);

    const waiting = await waitForRun(
      (r) =>
        r.state !== 'queued' && r.state !== 'gating' && r.state !== 'deploying' && r.state !== 'verifying',
      'staging',
    );
    expect(waiting.state, `${waiting.reason}\n${workerA.output().slice(-3000)}`).toBe('awaiting-approval');

    // A rolling restart of the workers while production waits for its approval.
    expect(await workerA.stop()).toBe(0);
    await start('work', 'work-b');
    const approved = await api(`/api/runs/${waiting.id}/approvals`, {
      method: 'POST',
      body: JSON.stringify({ env: 'production', decision: 'approve', slackUserId: APPROVER }),
    });
    expect([200, 202]).toContain(approved.status);
    const done = await waitForRun(
      (r) => ['succeeded', 'failed', 'rolled-back'].includes(r.state),
      'production',
    );
    expect(done).toMatchObject({ state: 'succeeded' });

    // Every process stops cleanly, flushing what it still holds.
    for (const p of processes) expect(await p.stop()).toBe(0);

    const commit = world.env
      .log(10)
      .find((c) => c.message.includes(`Shipgate-Run: ${done.id}`) && c.message.includes('production'));
    const traceId = /^Shipgate-Trace: ([0-9a-f]{32})$/m.exec(commit?.message ?? '')?.[1];
    expect(traceId, `production commit:\n${commit?.message}`).toBeDefined();

    const trace = receiver.spans().filter((s) => s.traceId === traceId);
    const names = [...trace].sort(byStart).map((s) => `${s.instance}: ${s.name}`);
    const first = (instance: string, pattern: RegExp) =>
      [...trace].sort(byStart).find((s) => s.instance === instance && pattern.test(s.name));

    // All three processes took part in the one trace.
    expect(new Set(trace.map((s) => s.instance)), names.join('\n')).toEqual(
      new Set(['serve', 'work-a', 'work-b']),
    );
    // The stages, each where it ran, in order.
    const stages = [
      first('serve', /^POST|webhook/),
      first('work-a', /^job .*webhook/),
      first('work-a', /^job test\//),
      first('work-a', /^job trivy\//),
      first('work-a', /^job deploy\//),
      first('work-a', /^job approval\/approval-request/),
      first('work-b', /^job approval\/approval-decision/),
      first('work-b', /^job deploy\//),
    ];
    expect(
      stages.map((s) => s?.name),
      names.join('\n'),
    ).not.toContain(undefined);
    const starts = stages.map((s) => BigInt(s!.startTimeUnixNano));
    expect([...starts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(starts);
    // Git commands, Argo CD and GitHub calls are spans of the same trace.
    expect(trace.some((s) => s.name.startsWith('git '))).toBe(true);
    expect(trace.some((s) => s.instance === 'work-b' && /deploy\./.test(s.name))).toBe(true);
  }, 280_000);
});

const byStart = (a: ReceivedSpan, b: ReceivedSpan) =>
  BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1;
