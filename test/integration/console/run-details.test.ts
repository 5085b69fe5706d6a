/**
 * What the run's page reads from the API, through the front door: a real server on port 0, the
 * engine and approval workers on real Redis, the GitHub stand-in, and the sandboxed local
 * executor running the app's own test script. Nothing of Shipgate's own is replaced.
 * - each gate's result carries the end of its output (bounded, secrets masked) and a link to
 *   its own check run;
 * - an approver's comment is stored with the decision and read back on the run and its timeline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineContext } from '../../../src/engine/context/create-engine-context.js';
import type { EngineContext } from '../../../src/engine/context/engine-context.js';
import { setReleaseEnvironments } from '../../../src/engine/progress/advance-run.js';
import { continueAfterEnvironment } from '../../../src/engine/progress/continue-release.js';
import { createLogger } from '../../../src/logger.js';
import type { RedisClient } from '../../../src/redis/connection.js';
import { GATE_LOG_LIMITS } from '../../../src/runs/gate-log.js';
import type { Run, RunEvent } from '../../../src/runs/run-types.js';
import type { TimelineStage } from '../../../src/runs/run-timeline.js';
import { installFakeScanners, type FakeScanners } from '../../support/fake-scanners/install.js';
import { fixturePath } from '../../support/fixtures.js';
import { testRedis } from '../../support/redis.js';
import {
  eventually,
  fixturePayload,
  startHarness,
  WEBHOOK_SECRET,
  type Harness,
} from '../../support/shipgate-harness.js';

const API_TOKEN = 'run-details-api-token-0123456789';
// A token shape no configuration knows: masked by shape, wherever it appears.
const GITHUB_TOKEN = `ghp_${'A1b2C3d4E5'.repeat(4)}`;
const LINES = 300;

/**
 * The app's test script: far more output than a tail keeps, a secret of Shipgate's config and a
 * token near the end, and the reason it fails last, as test runners print it.
 */
const RUN_TESTS = `i=1
while [ $i -le ${LINES} ]; do echo "progress line $i"; i=$((i+1)); done
echo "config secret: ${WEBHOOK_SECRET}"
echo "a token: ${GITHUB_TOKEN}"
echo "FAIL checkout.test.js: expected 2 to be 3"
exit 1
`;

let scanners: FakeScanners;
let h: Harness;
let redis: RedisClient;
let ctx: EngineContext;
const originalPath = process.env.PATH;

beforeAll(async () => {
  scanners = installFakeScanners();
  // The local executor runs scanners from the worker's PATH, as on a real host.
  process.env.PATH = `${scanners.binDir}:${originalPath}`;
  scanners.configure({ trivy: { fixture: fixturePath('trivy', 'image-no-vulnerabilities.json') } });
  h = await startHarness({
    appFiles: { 'run-tests.sh': RUN_TESTS },
    env: { SHIPGATE_API_TOKEN: API_TOKEN },
  });
  redis = testRedis();
  ctx = createEngineContext({ config: h.config, logger: createLogger('silent'), redis, queues: h.queues });
}, 30_000);

afterAll(async () => {
  await h?.close();
  redis?.disconnect();
  process.env.PATH = originalPath;
  scanners?.cleanup();
});

type GateOut = { conclusion: string; htmlUrl?: string; logTail?: string; logTruncated?: boolean };
interface RunDetail {
  run: Run & { gates: Record<string, GateOut> };
  events: RunEvent[];
  timeline: TimelineStage[];
}

function get(path: string, token: string | null = API_TOKEN): Promise<Response> {
  return fetch(`${h.baseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

async function runDetail(id: string): Promise<RunDetail> {
  const res = await get(`/api/runs/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as RunDetail;
}

function prPayload(sha: string) {
  const payload = fixturePayload('pull_request-opened.json', h);
  const pr = payload.pull_request as Record<string, Record<string, unknown>>;
  pr.head!.sha = sha;
  pr.head!.repo = { ...(pr.head!.repo as object), full_name: 'acme/web', fork: false };
  pr.base!.repo = { ...(pr.base!.repo as object), full_name: 'acme/web' };
  (payload.pull_request as Record<string, unknown>).number = 11;
  payload.number = 11;
  return payload;
}

describe('gate results on the run', () => {
  let run: Run;

  beforeAll(async () => {
    expect(await h.deliver('pull_request', prPayload(h.appRepo.shas[0]!))).toBe(202);
    run = await h.waitForRun(
      (r) => r.kind === 'pr' && r.prNumber === 11 && r.state === 'failed',
      'the PR run failed on its tests',
      60_000,
    );
  }, 70_000);

  it('carries the end of each gate’s output: bounded, with every secret masked', async () => {
    const { run: detail } = await runDetail(run.id);
    const tests = detail.gates.tests!;
    expect(tests.conclusion).toBe('failure');
    const tail = tests.logTail ?? '';
    // Why it failed is there, last, as the runner printed it.
    expect(tail.trimEnd().split('\n').at(-1)).toBe('FAIL checkout.test.js: expected 2 to be 3');
    // Bounded: the last lines only, never the whole output.
    const lines = tail.split('\n');
    expect(lines.length).toBeLessThanOrEqual(GATE_LOG_LIMITS.lines);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(GATE_LOG_LIMITS.bytes);
    expect(tail).toContain(`progress line ${LINES}`);
    expect(tail).not.toContain('progress line 1\n');
    expect(tests.logTruncated).toBe(true);
    // No secret: neither the config's nor a token by its shape.
    expect(tail).not.toContain(WEBHOOK_SECRET);
    expect(tail).not.toContain(GITHUB_TOKEN);
    expect(tail).toContain('config secret: [masked]');
    expect(tail).toContain('a token: [masked]');
    // Trivy ran a command too: its tail is there, whatever the scanner printed.
    expect(typeof detail.gates.trivy?.logTail).toBe('string');
  });

  it('links each gate to its own check run, as GitHub named it on create', async () => {
    const { run: detail } = await runDetail(run.id);
    const checks = new Map(h.github.checkRuns('acme', 'web').map((c) => [String(c.name), c]));
    for (const key of ['tests', 'trivy']) {
      const check = checks.get(`shipgate/${key}`);
      expect(check, key).toBeDefined();
      expect(detail.gates[key]?.htmlUrl, key).toBe(check!.html_url);
      expect(detail.gates[key]?.htmlUrl, key).toMatch(new RegExp(`/runs/${String(check!.id)}$`));
    }
    expect(detail.gates.tests?.htmlUrl).not.toBe(detail.gates.trivy?.htmlUrl);
  });

  it('sends the tails only to someone allowed to read the run, and only on the run itself', async () => {
    expect((await get(`/api/runs/${run.id}`, null)).status).toBe(401);
    expect((await get(`/api/runs/${run.id}`, 'x'.repeat(40))).status).toBe(401);
    const list = (await (await get('/api/runs?limit=50')).json()) as { runs: Run[] };
    const listed = list.runs.find((r) => r.id === run.id);
    expect(listed).toBeDefined();
    expect(JSON.stringify(listed)).not.toContain('logTail');
  });
});

describe('an approver’s comment', () => {
  /** A release that verified staging and now waits for production (the request job stores it). */
  async function releaseAwaitingProduction(tag: string): Promise<Run> {
    const { run } = await h.runs.createRun(
      {
        kind: 'release',
        repo: 'acme/web',
        installationId: h.installationId,
        sha: h.appRepo.shas[0]!,
        ref: `refs/tags/${tag}`,
        tag,
        app: 'web',
        releaser: 'releaser-gh',
      },
      { idempotencyKey: `run-details:${tag}:${Date.now()}` },
    );
    await setReleaseEnvironments(ctx, run.id, ['staging', 'production']);
    await h.runs.transition(run.id, { from: 'queued', to: 'deploying', env: 'staging' });
    const verifying = await h.runs.transition(run.id, { from: 'deploying', to: 'verifying', env: 'staging' });
    const waiting = await continueAfterEnvironment(ctx, verifying.run!, 'staging');
    expect(waiting).toMatchObject({ state: 'awaiting-approval', currentEnv: 'production' });
    return waiting;
  }

  const post = (runId: string, body: unknown) =>
    fetch(`${h.baseUrl}/api/runs/${runId}/approvals`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` },
      body: JSON.stringify(body),
    });

  it('is stored with the decision and returned on the run and its timeline, as text', async () => {
    const run = await releaseAwaitingProduction('v9.1.0');
    const typed = `  <img src=x onerror="alert(1)"> Staging looks right\u0007; token ${GITHUB_TOKEN}  `;
    const res = await post(run.id, {
      env: 'production',
      decision: 'approve',
      slackUserId: 'U0APPROVER',
      comment: typed,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ result: { outcome: 'approved' } });

    // Kept as the text it is (the console escapes it), trimmed, without control characters,
    // and without the token someone pasted.
    const stored = '<img src=x onerror="alert(1)"> Staging looks right; token [masked]';
    const detail = await eventually(
      async () => {
        const d = await runDetail(run.id);
        return d.run.approvals.length > 0 ? d : undefined;
      },
      10_000,
      'the approval on the run',
    );
    expect(detail.run.approvals).toEqual([
      expect.objectContaining({ env: 'production', slackUserId: 'U0APPROVER', comment: stored }),
    ]);
    const stage = detail.timeline.find((s) => s.name === 'approval:production');
    expect(stage?.detail.approvals).toEqual([
      expect.objectContaining({ by: 'U0APPROVER', decision: 'approve', comment: stored }),
    ]);
    // The audit trail keeps it with the vote.
    const audit = (await (await get(`/api/audit?kind=approval&app=web`)).json()) as {
      entries: { runId?: string; details?: Record<string, unknown> }[];
    };
    expect(audit.entries.find((e) => e.runId === run.id)?.details).toMatchObject({ comment: stored });
  }, 30_000);

  it('is bounded: a longer one is refused before anything is decided', async () => {
    const run = await releaseAwaitingProduction('v9.2.0');
    const res = await post(run.id, {
      env: 'production',
      decision: 'approve',
      slackUserId: 'U0APPROVER',
      comment: 'x'.repeat(501),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SHIPGATE_E_BAD_REQUEST');
    expect(await h.runs.requireRun(run.id)).toMatchObject({ state: 'awaiting-approval', approvals: [] });
  }, 30_000);

  it('is optional: a decision without one stores none', async () => {
    const run = await releaseAwaitingProduction('v9.3.0');
    const res = await post(run.id, { env: 'production', decision: 'reject', slackUserId: 'U0APPROVER' });
    expect(res.status).toBe(200);
    const detail = await runDetail(run.id);
    expect(detail.run.approvals).toHaveLength(1);
    expect(detail.run.approvals[0]).not.toHaveProperty('comment');
  }, 30_000);
});
