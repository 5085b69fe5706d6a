import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArgoCdStandIn } from '../../../sandbox/argocd-stand-in.js';
import {
  seedLiveRelease,
  startClusterStandIns,
  type ClusterStandIns,
} from '../../support/cluster-stand-ins.js';
import { installFakeScanners, type FakeScanners } from '../../support/fake-scanners/install.js';
import type { ControllerSim } from '../../../sandbox/rollout-controller-sim.js';
import {
  eventually,
  fixturePayload,
  POLICY,
  startHarness,
  type Harness,
} from '../../support/shipgate-harness.js';
import {
  startSlackStandIn,
  type SlackStandIn,
  type StandInMessage,
} from '../../../sandbox/slack-stand-in.js';
import { clickButton } from '../slack/interactions-helpers.js';
import { FIXTURES } from '../../support/fixtures.js';

/**
 * The mission end to end (issue 7): a signed tag push goes through the gates to staging, waits
 * for an approval in Slack (the releaser's click is refused, an allowed approver's accepted),
 * and goes on to production with `Approved-by` in the commit. A second tag fails production's
 * post-promotion analysis: it is aborted and reverted in git, and the Slack thread says why.
 * Real: ingress, BullMQ on Redis, git, kustomize, the GitHub/Argo CD/Kubernetes/Slack clients.
 */
const SIGNING_SECRET = 'tag-to-production-signing-secret';
const POLICY_WITH_THREADS = POLICY.replace(
  'forkPullRequests: none\n',
  'forkPullRequests: none\nnotifications:\n  channel: C0DEPLOYS\n',
);

let scanners: FakeScanners;
const originalPath = process.env.PATH;
let h: Harness;
let argo: ArgoCdStandIn;
let slack: SlackStandIn;
let sim: ControllerSim;
let cluster: ClusterStandIns;

beforeAll(async () => {
  scanners = installFakeScanners();
  process.env.PATH = `${scanners.binDir}:${originalPath}`;
  scanners.configure({
    trivy: { fixture: `${FIXTURES}/trivy/image-no-vulnerabilities.json` },
    zap: { fixture: `${FIXTURES}/zap/baseline-zap2.14-medium-low-info.json` },
  });
  cluster = await startClusterStandIns();
  ({ argo } = cluster);
  slack = await startSlackStandIn();
  h = await startHarness({
    policy: POLICY_WITH_THREADS,
    slack: { apiUrl: slack.apiUrl, token: slack.token, signingSecret: SIGNING_SECRET },
    env: cluster.env,
  });
  sim = cluster.simulate(h);
  // v0.9.0 is live in both environments, in git and in the cluster.
  await seedLiveRelease(h, sim, ['staging', 'production'], 'ghcr.io/acme/web:v0.9.0');
}, 60_000);

afterAll(async () => {
  await h?.close();
  await Promise.all([cluster?.close(), slack?.close()]);
  process.env.PATH = originalPath;
  scanners?.cleanup();
});

function tagPush(tag: string) {
  const payload = fixturePayload('push-tag-created.docs-example.json', h);
  Object.assign(payload, {
    ref: `refs/tags/${tag}`,
    after: h.appRepo.shas[0],
    created: true,
    deleted: false,
  });
  (payload.sender as Record<string, unknown>).login = 'releaser-gh';
  return payload;
}

async function runOf(tag: string, state: string, timeoutMs = 60_000) {
  return h.waitForRun((r) => r.tag === tag && r.state === state, `${tag} ${state}`, timeoutMs);
}

function approvalRequest(runId: string): StandInMessage {
  const message = slack
    .channelMessages('C0PROD')
    .find((m) => JSON.stringify(m.blocks ?? []).includes(runId) && m.text.startsWith('Approval needed'));
  if (!message) throw new Error('no approval request');
  return message;
}

function buttonValues(message: StandInMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const block of (message.blocks ?? []) as {
    type: string;
    elements?: { action_id?: string; value?: string }[];
  }[]) {
    for (const el of block.type === 'actions' ? (block.elements ?? []) : []) {
      if (el.action_id && el.value) out[el.action_id] = el.value;
    }
  }
  return out;
}

/** A signed click on the approval message, as Slack sends it. */
async function click(
  message: StandInMessage,
  buttons: Record<string, string>,
  userId: string,
  action: string,
) {
  const clicked = await clickButton(
    { baseUrl: h.baseUrl, signingSecret: SIGNING_SECRET },
    message,
    { actionId: action, value: buttons[action]! },
    userId,
  );
  return clicked.status;
}

describe('a tag from push to production', () => {
  it('goes through the gates, staging, a Slack approval and production; the next tag rolls back by itself', async () => {
    // 1. A signed tag push.
    expect(await h.deliver('push', tagPush('v1.0.0'))).toBe(202);

    // 2–4. Gates pass with check runs; staging is committed, synced and goes Healthy.
    const waiting = await runOf('v1.0.0', 'awaiting-approval');
    expect(waiting.currentEnv).toBe('production');
    const checks = Object.fromEntries(h.github.checkRuns('acme', 'web').map((c) => [c.name, c.conclusion]));
    expect(checks).toMatchObject({
      'shipgate/tests': 'success',
      'shipgate/trivy': 'success',
      'shipgate/zap': 'success',
    });
    expect(sim.healthyImages('web-staging').at(-1)).toBe('ghcr.io/acme/web:v1.0.0');
    const staging = h.github.deployments('acme', 'web').find((d) => d.environment === 'staging')!;
    expect(h.github.deploymentStatuses(staging.id)[0]).toMatchObject({ state: 'success' });

    // 5. The approval request; the releaser's click is refused, the approver's accepted.
    const request = await eventually(() => approvalRequest(waiting.id), 15_000, 'approval request posted');
    const buttons = buttonValues(request);
    expect(Object.keys(buttons).sort()).toEqual(['shipgate_approve', 'shipgate_reject']);
    expect(await click(request, buttons, 'U0RELEASER', 'shipgate_approve')).toBe(200);
    await eventually(
      () => slack.ephemerals.some((e) => e.user === 'U0RELEASER'),
      15_000,
      'ephemeral refusal',
    );
    expect((await h.runs.requireRun(waiting.id)).state).toBe('awaiting-approval');
    expect(await click(request, buttons, 'U0APPROVER', 'shipgate_approve')).toBe(200);

    // 6. Production is committed with Approved-by and deploys Healthy.
    const done = await runOf('v1.0.0', 'succeeded');
    const messages = await h.envRepo.messages(10);
    const production = messages.find(
      (m) => m.message.includes(`Shipgate-Run: ${done.id}`) && m.message.includes('production'),
    )!;
    expect(production.message).toMatch(/^Approved-by: .*U0APPROVER/m);
    expect(production.message).toContain('Image: ghcr.io/acme/web:v1.0.0');
    expect(sim.healthyImages('web-production').at(-1)).toBe('ghcr.io/acme/web:v1.0.0');
    const prodDeployment = h.github.deployments('acme', 'web').find((d) => d.environment === 'production')!;
    expect(h.github.deploymentStatuses(prodDeployment.id)[0]).toMatchObject({ state: 'success' });
    // The approval is in the run's audit log, and the Slack message says who approved.
    const events = await h.runs.getEvents(done.id);
    expect(events.some((e) => e.type === 'approval' && e.message.includes('production'))).toBe(true);
    await eventually(
      () =>
        JSON.stringify(slack.channelMessages('C0PROD').find((m) => m.ts === request.ts)?.blocks).includes(
          'U0APPROVER',
        ),
      10_000,
      'approval message updated',
    );

    // 7. A second tag: staging fine, but production's post-promotion analysis fails.
    expect(await h.deliver('push', tagPush('v1.1.0'))).toBe(202);
    const second = await runOf('v1.1.0', 'awaiting-approval');
    sim.scenario.post = 'Failed';
    const secondRequest = await eventually(
      () => approvalRequest(second.id),
      15_000,
      'second approval request',
    );
    expect(await click(secondRequest, buttonValues(secondRequest), 'U0APPROVER', 'shipgate_approve')).toBe(
      200,
    );
    const rolledBack = await runOf('v1.1.0', 'rolled-back');
    expect(rolledBack.reason).toMatch(/post-promotion/);

    // Git: the v1.1.0 production commit, then its revert back to v1.0.0; git never claims v1.1.0 is live.
    const [revert, bad] = await h.envRepo.messages(2);
    expect(bad!.message).toContain(`Shipgate-Run: ${second.id}`);
    expect(revert!.message).toContain(`Reverts: ${bad!.sha}`);
    expect(await h.envRepo.show(revert!.sha, 'apps/web/production/rollout-web.yaml')).toContain(
      'image: ghcr.io/acme/web:v1.0.0',
    );
    expect(argo.actions.filter((a) => a.body.action === 'abort')).toHaveLength(1);
    const secondProd = h.github
      .deployments('acme', 'web')
      .filter((d) => d.environment === 'production')
      .at(-1)!;
    expect(h.github.deploymentStatuses(secondProd.id)[0]).toMatchObject({ state: 'failure' });

    // The release thread in Slack says what happened and why, release by release.
    const roots = slack.channelMessages('C0DEPLOYS');
    const secondRoot = roots.find((m) => m.text.includes('v1.1.0'))!;
    await eventually(
      () =>
        slack
          .threadReplies('C0DEPLOYS', secondRoot.ts)
          .some((m) => /rolled back/i.test(m.text) && /post-promotion/i.test(m.text)),
      15_000,
      'rollback explained in the thread',
    );
  }, 180_000);
});
