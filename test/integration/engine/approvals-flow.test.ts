import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { approveCommand } from '../../../src/commands/approve.js';
import {
  runApprovalDecisionStage,
  runApprovalExpireStage,
  runApprovalRequestStage,
  apiDecisionJobOf,
} from '../../../src/engine/stages/approval-stage.js';
import { approvedByFor, continueAfterEnvironment } from '../../../src/engine/progress/continue-release.js';
import { setReleaseEnvironments } from '../../../src/engine/progress/advance-run.js';
import { createEngineContext } from '../../../src/engine/context/create-engine-context.js';
import type { EngineContext } from '../../../src/engine/context/engine-context.js';
import { createLogger } from '../../../src/logger.js';
import type { Run } from '../../../src/runs/run-types.js';
import { APPROVAL_WORKERS } from '../../../workers/approval-workers.js';
import {
  startSlackStandIn,
  type SlackStandIn,
  type StandInMessage,
} from '../../../sandbox/slack-stand-in.js';
import { eventually, POLICY, startHarness, type Harness } from '../../support/shipgate-harness.js';
import { testRedis } from '../../support/redis.js';
import type { RedisClient } from '../../../src/redis/connection.js';
import { clickButton } from '../slack/interactions-helpers.js';

/**
 * Issue 7's approvals wired into the engine, through the front door: a release run reaches
 * `awaiting-approval`, the approval worker posts the request through the real WebClient to the
 * Slack stand-in, signed clicks go through `POST /slack/interactions`, and the decision worker
 * promotes (a deploy job) or stops the run. Deploy workers are not running: the deploy job is
 * only asserted to exist.
 */
const SIGNING_SECRET = 'approvals-flow-signing-secret';
const API_TOKEN = 'approvals-flow-api-token-0123456789';
const GATES = {
  tests: {
    conclusion: 'success',
    title: '3 passed',
    counts: { tests: 3, failures: 0, errors: 0, skipped: 0 },
    at: new Date().toISOString(),
  },
  trivy: {
    conclusion: 'success',
    title: 'no blocking findings',
    counts: { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 0, UNKNOWN: 0 },
    at: new Date().toISOString(),
  },
};

let h: Harness;
let slack: SlackStandIn;
let redis: RedisClient;
let ctx: EngineContext;
let tagCounter = 0;
// The releaser is also a listed approver, so the "not your own release" rule is what refuses them.
const POLICY_WITH_RELEASER_APPROVER = POLICY.replace(
  'users: [U0APPROVER]',
  'users: [U0APPROVER, U0RELEASER]',
);

beforeAll(async () => {
  slack = await startSlackStandIn();
  h = await startHarness({
    slack: { apiUrl: slack.apiUrl, token: slack.token, signingSecret: SIGNING_SECRET },
    workers: APPROVAL_WORKERS,
    policy: POLICY_WITH_RELEASER_APPROVER,
    env: { SHIPGATE_API_TOKEN: API_TOKEN },
  });
  redis = testRedis();
  ctx = createEngineContext({ config: h.config, logger: createLogger('silent'), redis, queues: h.queues });
}, 30_000);

afterAll(async () => {
  await h?.close();
  redis?.disconnect();
  await slack?.close();
});

/** A release that deployed and verified staging, moved on by the engine to wait for production. */
async function releaseAwaitingProduction(): Promise<Run> {
  tagCounter += 1;
  const tag = `v1.${tagCounter}.0`;
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
      gates: GATES,
    },
    { idempotencyKey: `approvals-flow:${tag}:${Date.now()}` },
  );
  await setReleaseEnvironments(ctx, run.id, ['staging', 'production']);
  await h.runs.transition(run.id, { from: 'queued', to: 'deploying', env: 'staging' });
  const verifying = await h.runs.transition(run.id, { from: 'deploying', to: 'verifying', env: 'staging' });
  const waiting = await continueAfterEnvironment(ctx, verifying.run!, 'staging');
  expect(waiting).toMatchObject({ state: 'awaiting-approval', currentEnv: 'production' });
  return waiting;
}

function approvalMessage(runId: string): StandInMessage | undefined {
  return slack
    .channelMessages('C0PROD')
    .find((m) => JSON.stringify(m.blocks ?? []).includes(runId) && m.text.startsWith('Approval needed'));
}

function buttons(message: StandInMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const block of (message.blocks ?? []) as {
    type: string;
    elements?: { action_id?: string; value?: string }[];
  }[]) {
    if (block.type !== 'actions') continue;
    for (const el of block.elements ?? []) if (el.action_id && el.value) out[el.action_id] = el.value;
  }
  return out;
}

/** A signed click on the request's Approve or Reject button, as Slack sends it. */
async function click(
  message: PostedRequest,
  userId: string,
  decision: 'approve' | 'reject',
  options: { actionTs?: string; retryNum?: number } = {},
): Promise<{ status: number; actionTs: string }> {
  const actionId = decision === 'approve' ? 'shipgate_approve' : 'shipgate_reject';
  return clickButton(
    { baseUrl: h.baseUrl, signingSecret: SIGNING_SECRET },
    message,
    { actionId, value: message.buttons[actionId]! },
    userId,
    options,
  );
}

async function decisionResult(runId: string, userId: string, decision: string, actionTs: string) {
  const jobId = `${runId}.approval.production.${userId}.${decision}.${actionTs}`;
  return eventually(
    async () => {
      const job = await h.queues.approval.getJob(jobId);
      return job?.finishedOn !== undefined ? (job.returnvalue as Record<string, unknown>) : undefined;
    },
    15_000,
    `decision job ${jobId}`,
  );
}

/** The request as first posted; the stand-in updates its messages in place, so keep the buttons. */
interface PostedRequest {
  channel: string;
  ts: string;
  blocks: unknown[];
  buttons: Record<string, string>;
}

async function posted(runId: string): Promise<PostedRequest> {
  const m = await eventually(() => approvalMessage(runId), 15_000, 'approval message posted');
  return { channel: m.channel, ts: m.ts, blocks: structuredClone(m.blocks ?? []), buttons: buttons(m) };
}

describe('approvals wired into the release engine', () => {
  it('posts the request, refuses the releaser, promotes on the approver, and collapses retries and double clicks', async () => {
    const run = await releaseAwaitingProduction();
    const message = await posted(run.id);

    // The request: policy channel, app, version, from → to, gate summary, links, two buttons.
    const text = JSON.stringify(message.blocks);
    expect(message.channel).toBe('C0PROD');
    expect(text).toContain('web');
    expect(text).toContain(run.tag!);
    expect(text).toContain('staging');
    expect(text).toContain('production');
    expect(text).toContain(`/acme/web/commit/${run.sha}/checks`);
    expect(Object.keys(message.buttons).sort()).toEqual(['shipgate_approve', 'shipgate_reject']);
    // The expiry is scheduled as a delayed job about 24 h out (the policy's default).
    const expiry = await eventually(
      () => h.queues.approval.getJob(`${run.id}.approval-expire.production`),
      10_000,
      'expiry job scheduled',
    );
    expect(expiry.opts.delay).toBeGreaterThan(23 * 3600_000);
    expect(await expiry.getState()).toBe('delayed');
    // "Waiting for approval" in the release thread.
    await eventually(
      () => slack.messages.some((m) => m.threadTs !== undefined && m.text.includes('waiting for approval')),
      10_000,
      'waiting-for-approval notification',
    );

    // The releaser (releaser-gh → U0RELEASER in the policy) may not approve their own release.
    const byReleaser = await click(message, 'U0RELEASER', 'approve');
    expect(byReleaser.status).toBe(200);
    expect(await decisionResult(run.id, 'U0RELEASER', 'approve', byReleaser.actionTs)).toMatchObject({
      outcome: 'refused',
      code: 'releaser-may-not-approve',
    });
    expect(slack.ephemerals.find((e) => e.user === 'U0RELEASER')?.text).toMatch(/released this version/);
    expect(await h.runs.requireRun(run.id)).toMatchObject({ state: 'awaiting-approval', approvals: [] });
    expect(await h.queues.deploy.getJob(`${run.id}.deploy.production`)).toBeUndefined();

    // The allowed approver: the run goes on to deploy production, with Approved-by recorded.
    const byApprover = await click(message, 'U0APPROVER', 'approve');
    expect(byApprover.status).toBe(200);
    expect(await decisionResult(run.id, 'U0APPROVER', 'approve', byApprover.actionTs)).toMatchObject({
      outcome: 'approved',
      decided: true,
      runState: 'deploying',
    });
    const promoted = await h.runs.requireRun(run.id);
    expect(promoted).toMatchObject({ state: 'deploying', currentEnv: 'production' });
    expect(promoted.approvals).toEqual([
      expect.objectContaining({ env: 'production', slackUserId: 'U0APPROVER', decision: 'approve' }),
    ]);
    expect(await h.queues.deploy.getJob(`${run.id}.deploy.production`)).toBeDefined();
    const approvedBy = await approvedByFor(ctx, run.id, 'production');
    expect(approvedBy).toHaveLength(1);
    expect(approvedBy[0]).toMatch(/^u0approver \(Slack U0APPROVER\) \d{4}-\d\d-\d\dT/);
    // The message now says who approved (chat.update), and has no buttons left.
    await eventually(
      () => (approvalMessage(run.id) === undefined ? true : undefined),
      10_000,
      'message updated',
    );
    const updated = slack.channelMessages('C0PROD').find((m) => m.ts === message.ts)!;
    expect(JSON.stringify(updated.blocks)).toContain('<@U0APPROVER>');
    expect(buttons(updated)).toEqual({});

    // Slack retries the same click (new timestamp, same action_ts): the same job id, nothing new.
    const retry = await click(message, 'U0APPROVER', 'approve', {
      actionTs: byApprover.actionTs,
      retryNum: 1,
    });
    expect(retry.status).toBe(200);
    // A double click (a second action) is a second job; the store has already decided.
    const again = await click(message, 'U0APPROVER', 'approve');
    expect(await decisionResult(run.id, 'U0APPROVER', 'approve', again.actionTs)).toMatchObject({
      decided: false,
    });
    const jobs = await h.queues.approval.getJobs(['completed', 'waiting', 'active', 'delayed', 'failed']);
    const decisionJobs = jobs.filter((j) => j.name === 'approval-decision' && j.data.runId === run.id);
    expect(decisionJobs.map((j) => j.id).sort()).toEqual(
      [
        `${run.id}.approval.production.U0RELEASER.approve.${byReleaser.actionTs}`,
        `${run.id}.approval.production.U0APPROVER.approve.${byApprover.actionTs}`,
        `${run.id}.approval.production.U0APPROVER.approve.${again.actionTs}`,
      ].sort(),
    );
    const events = await h.runs.getEvents(run.id);
    expect(
      events.filter((e) => e.transition?.to === 'deploying' && e.transition.env === 'production'),
    ).toHaveLength(1);
    expect(events.filter((e) => e.type === 'approval')).toHaveLength(1);
    expect(await h.queues.deploy.getJobCounts('waiting', 'delayed', 'active')).toMatchObject({ waiting: 1 });
    expect((await h.runs.requireRun(run.id)).approvals).toHaveLength(1);
  }, 40_000);

  it('a reject by an allowed approver stops the release and says so in the thread', async () => {
    const run = await releaseAwaitingProduction();
    const message = await posted(run.id);
    const rejected = await click(message, 'U0APPROVER', 'reject');
    expect(await decisionResult(run.id, 'U0APPROVER', 'reject', rejected.actionTs)).toMatchObject({
      outcome: 'rejected',
      runState: 'failed',
    });
    const after = await h.runs.requireRun(run.id);
    expect(after).toMatchObject({
      state: 'failed',
      currentEnv: 'production',
      reason: 'rejected by u0approver',
    });
    expect(await h.queues.deploy.getJob(`${run.id}.deploy.production`)).toBeUndefined();
    await eventually(
      () => slack.messages.some((m) => m.replyBroadcast && m.text.includes('rejected by u0approver')),
      10_000,
      'failure broadcast in the release thread',
    );
  }, 30_000);

  it('an expired request fails the run, and a later approval changes nothing', async () => {
    const run = await releaseAwaitingProduction();
    const message = await posted(run.id);
    // The delayed job would run in 24 h; run its stage with the clock moved past the expiry.
    const later = new Date(Date.now() + 25 * 3600_000);
    const future: EngineContext = {
      ...ctx,
      now: () => later,
      approvals: { ...ctx.approvals!, now: () => later },
    };
    expect(await runApprovalExpireStage(future, { runId: run.id, env: 'production' })).toMatchObject({
      expired: true,
      runState: 'failed',
    });
    expect(await h.runs.requireRun(run.id)).toMatchObject({ state: 'failed', reason: 'approval expired' });
    // Safe to run twice (the delayed job after a manual run, or a retry).
    expect(await runApprovalExpireStage(future, { runId: run.id, env: 'production' })).toMatchObject({
      expired: false,
    });
    const late = await click(message, 'U0APPROVER', 'approve');
    expect(await decisionResult(run.id, 'U0APPROVER', 'approve', late.actionTs)).toMatchObject({
      decided: false,
    });
    expect(await h.runs.requireRun(run.id)).toMatchObject({ state: 'failed' });
    expect(await h.queues.deploy.getJob(`${run.id}.deploy.production`)).toBeUndefined();
  }, 30_000);

  it('the API fallback needs the bearer token and applies the same policy', async () => {
    const run = await releaseAwaitingProduction();
    await posted(run.id);
    const post = (body: unknown, token?: string) =>
      fetch(`${h.baseUrl}/api/runs/${run.id}/approvals`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
      });

    const noToken = await post({ env: 'production', decision: 'approve', slackUserId: 'U0APPROVER' });
    expect(noToken.status).toBe(401);
    const badToken = await post(
      { env: 'production', decision: 'approve', slackUserId: 'U0APPROVER' },
      'x'.repeat(40),
    );
    expect(badToken.status).toBe(401);
    const wrongEnv = await post(
      { env: 'staging', decision: 'approve', slackUserId: 'U0APPROVER' },
      API_TOKEN,
    );
    expect(wrongEnv.status).toBe(409);
    const badBody = await post(
      { env: 'production', decision: 'maybe', slackUserId: 'U0APPROVER' },
      API_TOKEN,
    );
    expect(badBody.status).toBe(400);
    expect(await h.queues.approval.getJobCounts('completed')).toBeDefined();
    expect(await h.runs.requireRun(run.id)).toMatchObject({ state: 'awaiting-approval' });

    const releaser = await post(
      { env: 'production', decision: 'approve', slackUserId: 'U0RELEASER' },
      API_TOKEN,
    );
    expect(releaser.status).toBe(403);
    expect(((await releaser.json()) as { error: { code: string } }).error.code).toBe(
      'SHIPGATE_E_APPROVAL_REFUSED',
    );
    const outsider = await post(
      { env: 'production', decision: 'approve', slackUserId: 'U0MALLORY' },
      API_TOKEN,
    );
    expect(outsider.status).toBe(403);
    expect(await h.runs.requireRun(run.id)).toMatchObject({ state: 'awaiting-approval' });

    const ok = await post({ env: 'production', decision: 'approve', slackUserId: 'U0APPROVER' }, API_TOKEN);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ result: { outcome: 'approved', runState: 'deploying' } });
    expect(await h.runs.requireRun(run.id)).toMatchObject({ state: 'deploying', currentEnv: 'production' });
    expect(await approvedByFor(ctx, run.id, 'production')).toEqual([
      expect.stringMatching(/^U0APPROVER \(Slack U0APPROVER\) /),
    ]);
    // The Slack message shows the API approval too.
    await eventually(
      () => (approvalMessage(run.id) === undefined ? true : undefined),
      10_000,
      'message updated',
    );
    // A second call finds the run no longer waiting.
    const twice = await post(
      { env: 'production', decision: 'approve', slackUserId: 'U0APPROVER' },
      API_TOKEN,
    );
    expect(twice.status).toBe(409);
  }, 30_000);

  it('shipgate approve calls the API with SHIPGATE_API_TOKEN from the environment', async () => {
    const run = await releaseAwaitingProduction();
    await posted(run.id);
    const saved = { token: process.env.SHIPGATE_API_TOKEN, secret: process.env.GITHUB_WEBHOOK_SECRET };
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      process.env.SHIPGATE_API_TOKEN = API_TOKEN;
      // The CLI validates the same environment as the server (the 'cli' role wants the webhook secret).
      process.env.GITHUB_WEBHOOK_SECRET = 'cli-test-webhook-secret';
      const args = [run.id, 'production', '--url', h.baseUrl];
      expect(await approveCommand.run([...args, '--as', 'U0RELEASER'])).toBe(1);
      expect(String(err.mock.calls.at(-1)?.[0])).toMatch(/SHIPGATE_E_APPROVAL_REFUSED/);
      expect(await approveCommand.run([...args, '--as', 'U0APPROVER', '--reject'])).toBe(0);
      expect(String(out.mock.calls.at(-1)?.[0])).toMatch(/^rejected: request is rejected, run is failed/);
      expect(await h.runs.requireRun(run.id)).toMatchObject({
        state: 'failed',
        reason: 'rejected by U0APPROVER',
      });
      process.env.SHIPGATE_API_TOKEN = 'wrong-token-but-long-enough';
      expect(await approveCommand.run([...args, '--as', 'U0APPROVER'])).toBe(1);
      expect(String(err.mock.calls.at(-1)?.[0])).toMatch(/SHIPGATE_E_UNAUTHORIZED/);
      expect(await approveCommand.run([run.id])).toBe(2);
    } finally {
      for (const [name, value] of [
        ['SHIPGATE_API_TOKEN', saved.token],
        ['GITHUB_WEBHOOK_SECRET', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      out.mockRestore();
      err.mockRestore();
    }
  }, 30_000);

  it('without Slack on the workers, the API decision is held to the policy and the run record', async () => {
    const run = await releaseAwaitingProduction();
    await posted(run.id);
    const noSlack: EngineContext = { ...ctx, approvals: undefined, notifier: undefined };
    const decide = (slackUserId: string, decision: 'approve' | 'reject') =>
      runApprovalDecisionStage(
        noSlack,
        apiDecisionJobOf({
          runId: run.id,
          env: 'production',
          slackUserId,
          decision,
          via: 'cli',
          receivedAt: new Date(),
        }),
      );
    expect(await decide('U0RELEASER', 'approve')).toMatchObject({
      outcome: 'refused',
      code: 'releaser-may-not-approve',
    });
    expect(await decide('U0NOBODY', 'approve')).toMatchObject({
      outcome: 'refused',
      code: 'not-an-approver',
    });
    expect(await decide('U0APPROVER', 'approve')).toMatchObject({
      outcome: 'approved',
      runState: 'deploying',
    });
    expect(await decide('U0APPROVER', 'approve')).toMatchObject({ outcome: 'not-awaiting' });
    expect(await h.queues.deploy.getJob(`${run.id}.deploy.production`)).toBeDefined();
    expect(await approvedByFor(ctx, run.id, 'production')).toHaveLength(1);
  }, 30_000);

  it('without Slack at all, the request is stored (not posted) and decided in the one store', async () => {
    const run = await releaseAwaitingProduction();
    // Approvals with no Slack parts: what createEngineContext builds without SLACK_BOT_TOKEN.
    const noSlack: EngineContext = {
      ...ctx,
      approvals: { store: ctx.approvalStore, logger: ctx.logger },
      notifier: undefined,
    };
    expect(await runApprovalRequestStage(noSlack, { runId: run.id, env: 'production' })).toMatchObject({
      outcome: 'opened',
    });
    expect(await ctx.approvalStore.getRequest(run.id, 'production')).toMatchObject({ status: 'open' });
    expect(await h.queues.approval.getJob(`${run.id}.approval-expire.production`)).toBeDefined();
    const decide = (slackUserId: string) =>
      runApprovalDecisionStage(
        noSlack,
        apiDecisionJobOf({
          runId: run.id,
          env: 'production',
          slackUserId,
          decision: 'approve',
          via: 'api',
          receivedAt: new Date(),
        }),
      );
    expect(await decide('U0RELEASER')).toMatchObject({
      outcome: 'refused',
      code: 'releaser-may-not-approve',
    });
    expect(await decide('U0APPROVER')).toMatchObject({ outcome: 'approved', runState: 'deploying' });
    expect(await ctx.approvalStore.getRequest(run.id, 'production')).toMatchObject({ status: 'approved' });
    expect(await approvedByFor(ctx, run.id, 'production')).toHaveLength(1);
  }, 30_000);

  it('a newer release waiting for the same environment supersedes the older one', async () => {
    const older = await releaseAwaitingProduction();
    const olderMessage = await posted(older.id);
    const newer = await releaseAwaitingProduction();
    await posted(newer.id);
    await eventually(
      async () => ((await h.runs.requireRun(older.id)).state === 'superseded' ? true : undefined),
      10_000,
      'older run superseded',
    );
    expect(await h.runs.requireRun(older.id)).toMatchObject({ supersededBy: newer.id });
    // The older buttons are inert.
    const stale = await click(olderMessage, 'U0APPROVER', 'approve');
    expect(await decisionResult(older.id, 'U0APPROVER', 'approve', stale.actionTs)).toMatchObject({
      decided: false,
    });
    expect(await h.queues.deploy.getJob(`${older.id}.deploy.production`)).toBeUndefined();
    expect(await h.runs.requireRun(newer.id)).toMatchObject({ state: 'awaiting-approval' });
  }, 30_000);
});
