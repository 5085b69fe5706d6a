import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitCli } from '../../../src/git/git-cli.js';
import {
  formatCommitMessage,
  parseTrailers,
  releaseTrailerPairs,
} from '../../../src/gitops/commit-message.js';
import { startTracing, type TracingHandle } from '../../../src/telemetry/start-tracing.js';
import { currentTraceparent } from '../../../src/telemetry/trace-context.js';
import { traceJob } from '../../../src/telemetry/trace-job.js';
import { withSpan, withStepSpan } from '../../../src/telemetry/with-span.js';
import { closeServer, listenOnFreePort } from '../../../sandbox/listen.js';
import {
  startOtlpReceiverStandIn,
  type OtlpReceiverStandIn,
} from '../../../sandbox/otlp-receiver-stand-in.js';

/**
 * The real SDK, started from OTEL_* variables only, exporting over OTLP/HTTP to a receiver
 * stand-in: the spans of a webhook, two jobs, an HTTP call through fetch (Octokit's path) and
 * one through node:http (the Slack, Kubernetes and Argo CD clients' path), a git command and a
 * deploy step arrive as one trace, in order, and the commit trailer names it.
 */
describe('tracing exported over OTLP/HTTP', () => {
  let receiver: OtlpReceiverStandIn;
  let api: http.Server;
  let apiUrl: string;
  let tracing: TracingHandle;

  beforeAll(async () => {
    receiver = await startOtlpReceiverStandIn();
    api = http.createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}'),
    );
    apiUrl = await listenOnFreePort(api);
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    // The stand-in reads OTLP/JSON; a real collector takes protobuf (the SDK's default) too.
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
    process.env.OTEL_SERVICE_NAME = 'shipgate-test';
    process.env.OTEL_TRACES_SAMPLER = 'always_on';
    tracing = await startTracing(process.env);
  });

  afterAll(async () => {
    await tracing?.shutdown();
    await closeServer(api);
    await receiver?.close();
  });

  it('is off without the variables', async () => {
    expect((await startTracing({})).enabled).toBe(false);
  });

  it('sends one trace covering every stage, in order', async () => {
    expect(tracing.enabled).toBe(true);
    const dir = await mkdtemp(path.join(tmpdir(), 'sg-otlp-git-'));
    let message = '';
    try {
      const webhookJob = await withSpan('webhook.enqueue', {}, async () => ({
        traceparent: currentTraceparent(),
      }));
      const t = Date.now();
      const deployJob = await traceJob(
        {
          id: 'd1',
          name: 'github-delivery',
          queueName: 'webhook',
          data: webhookJob,
          timestamp: t,
          attemptsMade: 0,
        },
        {},
        async () => {
          await fetch(`${apiUrl}/repos/acme/web/check-runs`);
          return { runId: 'r1', env: 'production', traceparent: currentTraceparent() };
        },
      );
      await traceJob(
        {
          id: 'd2',
          name: 'deploy',
          queueName: 'deploy',
          data: deployJob,
          timestamp: Date.now(),
          attemptsMade: 0,
        },
        {},
        () =>
          withStepSpan('commit', {}, async () => {
            await new GitCli().run(['init', '-q', dir], { cwd: dir });
            await new Promise<void>((resolve, reject) =>
              http
                .get(`${apiUrl}/api/v1/applications/web`, (res) => res.resume().on('end', resolve))
                .on('error', reject),
            );
            message = formatCommitMessage({
              subject: 'deploy web',
              trailers: releaseTrailerPairs({
                shipgateRun: 'r1',
                sourceRepo: 'acme/web',
                sourceCommit: 'a'.repeat(40),
                image: 'ghcr.io/acme/web:1',
                gates: 'tests=passed',
              }),
            });
          }),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    await tracing.shutdown();
    const spans = (await receiver.waitForSpans(7)).filter((s) => s.service === 'shipgate-test');
    // Start times can tie at JSON's number precision: a parent then sorts before its child.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const depth = (s: (typeof spans)[number]): number =>
      s.parentSpanId && byId.has(s.parentSpanId) ? 1 + depth(byId.get(s.parentSpanId)!) : 0;
    const ordered = [...spans].sort(
      (a, b) => Number(a.startTimeUnixNano) - Number(b.startTimeUnixNano) || depth(a) - depth(b),
    );
    const traceIds = new Set(spans.map((s) => s.traceId));
    expect(traceIds.size).toBe(1);
    const clientSpans = ordered
      .filter((s) => s.kind === 3)
      .map((s) => s.attributes['url.full'] ?? s.attributes['http.url']);
    expect(clientSpans.some((u) => String(u).includes('/repos/acme/web/check-runs'))).toBe(true);
    expect(clientSpans.some((u) => String(u).includes('/api/v1/applications/web'))).toBe(true);
    const names = ordered.map((s) => s.name).filter((n) => !/^(GET|POST)$/.test(n));
    expect(names).toEqual([
      'webhook.enqueue',
      'job webhook/github-delivery',
      'job deploy/deploy',
      'deploy.step commit',
      'git init',
    ]);
    const step = ordered.find((s) => s.name === 'deploy.step commit')!;
    expect(ordered.find((s) => s.name === 'git init')?.parentSpanId).toBe(step.spanId);
    expect(ordered.find((s) => s.name === 'job deploy/deploy')?.events.map((e) => e.name)).toContain(
      'wait.queue',
    );
    expect(parseTrailers(message)).toContainEqual(['Shipgate-Trace', [...traceIds][0]]);
  });
});
