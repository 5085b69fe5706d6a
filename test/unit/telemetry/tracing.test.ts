import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { StageJobSchema } from '../../../src/engine/context/stage-jobs.js';
import { GitCli } from '../../../src/git/git-cli.js';
import {
  parseTrailers,
  releaseTrailerPairs,
  formatCommitMessage,
} from '../../../src/gitops/commit-message.js';
import { createLogger } from '../../../src/logger.js';
import { currentTraceparent, traceIdOf } from '../../../src/telemetry/trace-context.js';
import { RunTraceStore, traceJob } from '../../../src/telemetry/trace-job.js';
import { isTracingConfigured } from '../../../src/telemetry/tracing-config.js';
import { withSpan, withStepSpan } from '../../../src/telemetry/with-span.js';
import { installInMemoryTracing } from '../../support/in-memory-tracing.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../support/redis.js';

const tracing = installInMemoryTracing();
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
const prefix = uniquePrefix('telemetry');

afterAll(async () => {
  await deleteKeysWithPrefix(prefix);
  redis.disconnect();
  await tracing.shutdown();
});
beforeEach(() => tracing.exporter.reset());

const trailers = {
  shipgateRun: 'run-1',
  sourceRepo: 'acme/app',
  sourceCommit: 'a'.repeat(40),
  image: 'ghcr.io/acme/app:1',
  gates: 'tests=passed',
};

describe('tracing configuration', () => {
  it('is on only when a standard OTEL variable names an exporter or endpoint', () => {
    expect(isTracingConfigured({})).toBe(false);
    expect(isTracingConfigured({ OTEL_SERVICE_NAME: 'x' })).toBe(false);
    expect(isTracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(isTracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/v1/traces' })).toBe(true);
    expect(isTracingConfigured({ OTEL_TRACES_EXPORTER: 'console' })).toBe(true);
    expect(
      isTracingConfigured({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' }),
    ).toBe(false);
    expect(isTracingConfigured({ OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x' })).toBe(
      false,
    );
  });
});

describe('spans', () => {
  it('nests spans, records failures with their code, and names deploy steps', async () => {
    await expect(
      withSpan('outer', {}, () =>
        withStepSpan('sync', { 'shipgate.env': 'staging' }, async () => {
          throw Object.assign(new Error('boom'), { code: 'SHIPGATE_E_X' });
        }),
      ),
    ).rejects.toThrow('boom');
    const [step, outer] = tracing.spans();
    expect(step!.name).toBe('deploy.step sync');
    expect(step!.parentSpanContext?.spanId).toBe(outer!.spanContext().spanId);
    expect(step!.attributes['shipgate.error.code']).toBe('SHIPGATE_E_X');
    expect(step!.attributes['shipgate.env']).toBe('staging');
    expect(step!.status.code).toBe(2);
  });

  it('makes one span per git command, without its arguments', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sg-trace-git-'));
    try {
      await withSpan('job', {}, () => new GitCli().run(['init', '-q', dir], { cwd: dir }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const git = tracing.spans().find((s) => s.name === 'git init');
    expect(git?.attributes['shipgate.git.command']).toBe('init');
    expect(JSON.stringify(git?.attributes)).not.toContain(dir);
  });
});

describe('trace context in jobs, logs and commits', () => {
  it('carries a bounded traceparent in stage job data and continues it on the worker', async () => {
    let tp: string | undefined;
    let innerTrace: string | undefined;
    await withSpan('webhook', {}, async (span) => {
      tp = currentTraceparent();
      expect(traceIdOf(tp)).toBe(span.spanContext().traceId);
    });
    const data = StageJobSchema.parse({ stage: 'deploy', runId: 'r1', env: 'staging', traceparent: tp });
    expect(data.traceparent).toBe(tp);
    expect(() =>
      StageJobSchema.parse({ stage: 'deploy', runId: 'r1', env: 's', traceparent: 'x'.repeat(60) }),
    ).toThrow();

    const t0 = 1_000_000;
    await traceJob(
      {
        id: '1',
        name: 'deploy',
        queueName: 'deploy',
        data,
        timestamp: t0,
        processedOn: t0 + 250,
        attemptsMade: 0,
      },
      { now: () => t0 + 300 },
      async () => {
        innerTrace = currentTraceparent();
      },
    );
    const job = tracing.spans().find((s) => s.name === 'job deploy/deploy')!;
    expect(job.spanContext().traceId).toBe(traceIdOf(tp));
    expect(traceIdOf(innerTrace)).toBe(traceIdOf(tp));
    expect(job.attributes['shipgate.run_id']).toBe('r1');
    const wait = job.events.find((e) => e.name === 'wait.queue');
    expect(wait?.attributes?.['shipgate.wait.ms']).toBe(250);
  });

  it('joins a job started elsewhere (a Slack click) to its run trace, with a link back', async () => {
    const runs = new RunTraceStore(redis, prefix);
    let releaseTp = '';
    let clickTp = '';
    await withSpan('release', {}, async () => {
      releaseTp = currentTraceparent()!;
    });
    await withSpan('click', {}, async () => {
      clickTp = currentTraceparent()!;
    });
    const job = (data: object) => ({
      name: 'x',
      queueName: 'approval',
      data,
      timestamp: Date.now(),
      attemptsMade: 0,
    });
    await traceJob(job({ runId: 'run-a', traceparent: releaseTp }), { runTraces: runs }, async () => {});
    await traceJob(job({ runId: 'run-a', traceparent: clickTp }), { runTraces: runs }, async () => {});
    const [first, second] = tracing.spans().filter((s) => s.name === 'job approval/x');
    expect(first!.spanContext().traceId).toBe(traceIdOf(releaseTp));
    expect(second!.spanContext().traceId).toBe(traceIdOf(releaseTp));
    expect(second!.links[0]?.context.traceId).toBe(traceIdOf(clickTp));
  });

  it('records a wait for the deploy lock when the job finds it taken', async () => {
    await expect(
      traceJob(
        { name: 'deploy', queueName: 'deploy', data: {}, timestamp: Date.now(), attemptsMade: 3 },
        {},
        () => Promise.reject(Object.assign(new Error('busy'), { code: 'SHIPGATE_E_DEPLOY_LOCK_BUSY' })),
      ),
    ).rejects.toThrow('busy');
    expect(
      tracing
        .spans()[0]!
        .events.map((e) => e.name)
        .slice(0, 2),
    ).toEqual(['wait.queue', 'wait.lock']);
  });

  it('puts the trace id in every log line written inside a span, and none outside', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger('info', sink);
    let traceId = '';
    await withSpan('work', {}, async (span) => {
      traceId = span.spanContext().traceId;
      logger.child({ runId: 'r' }).info('inside');
    });
    logger.info('outside');
    expect(lines[0]).toMatchObject({ msg: 'inside', traceId, runId: 'r' });
    expect(lines[1]).not.toHaveProperty('traceId');
  });

  it('writes the Shipgate-Trace trailer into the env-repo commit', async () => {
    let traceId = '';
    let message = '';
    await withSpan('deploy', {}, async (span) => {
      traceId = span.spanContext().traceId;
      message = formatCommitMessage({ subject: 'deploy', trailers: releaseTrailerPairs(trailers) });
    });
    expect(parseTrailers(message)).toContainEqual(['Shipgate-Trace', traceId]);
    // Outside any span (tracing off), no trailer at all.
    expect(releaseTrailerPairs(trailers).map(([k]) => k)).not.toContain('Shipgate-Trace');
  });
});
