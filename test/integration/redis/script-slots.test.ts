import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApprovalStore } from '../../../src/approvals/approval-store.js';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { DeployHistory } from '../../../src/dora/deploy-history.js';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';
import { DeployLock } from '../../../src/runs/deploy-lock.js';
import { RunStore } from '../../../src/runs/run-store.js';
import { createDeliveryEnqueuer } from '../../../src/webhooks/enqueue-delivery.js';
import type { WebhookJob } from '../../../src/webhooks/webhook-job.js';
import { clusterKeySlot } from '../../support/key-slot.js';
import { deleteKeysWithPrefix, TEST_REDIS_IS_CLUSTER, testRedis, uniquePrefix } from '../../support/redis.js';

interface Sent {
  name: string;
  keys: string[];
}

/**
 * Every command a connection sends, with its keys as ioredis computes them (for EVAL/EVALSHA the
 * KEYS, for MULTI…EXEC each command's). Recorded at ioredis' one exit, `sendCommand`.
 */
function record(redis: Redis): Sent[] {
  const sent: Sent[] = [];
  const original = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: Parameters<Redis['sendCommand']>[0], stream?: unknown) => {
    sent.push({ name: command.name.toLowerCase(), keys: command.getKeys().map(String) });
    return original(command, stream as never);
  }) as Redis['sendCommand'];
  return sent;
}

/** Groups what was sent into units Redis Cluster requires on one slot: a command, or a transaction. */
function units(sent: Sent[]): Sent[] {
  const out: Sent[] = [];
  let tx: Sent | undefined;
  for (const s of sent) {
    if (s.name === 'multi') tx = { name: 'multi…exec', keys: [] };
    else if (s.name === 'exec' && tx) {
      out.push(tx);
      tx = undefined;
    } else if (tx) tx.keys.push(...s.keys);
    else out.push(s);
  }
  return out;
}

// On a single Redis nothing fails when a script's keys span slots, so this watches every command
// of every store and asserts what Redis Cluster will demand. (`npm run test:cluster` runs the
// stores on a real cluster, where the same mistake is a CROSSSLOT error.)
describe.skipIf(TEST_REDIS_IS_CLUSTER)(
  'every multi-key script and transaction stays on one cluster slot',
  () => {
    const prefix = uniquePrefix('slots');
    let redis: Redis;
    let sent: Sent[];

    beforeAll(() => {
      redis = testRedis('worker') as Redis;
      sent = record(redis);
    });
    afterAll(async () => {
      redis.disconnect();
      await deleteKeysWithPrefix(prefix);
    });

    it('for the run store, deploy lock, approvals, audit, DORA history and webhook ingress', async () => {
      const runs = new RunStore(redis, { prefix: `${prefix}:runs` });
      const base = {
        repo: 'acme/shop',
        installationId: 1,
        sha: 'a'.repeat(40),
        releaser: 'octocat',
      } as const;
      const older = await runs.createRun(
        { ...base, kind: 'pr', ref: 'refs/heads/x', prNumber: 4 },
        { idempotencyKey: 'p1' },
      );
      const { run } = await runs.createRun(
        { ...base, kind: 'pr', ref: 'refs/heads/x', prNumber: 4 },
        { idempotencyKey: 'p2' },
      );
      await runs.createRun(
        { ...base, kind: 'pr', ref: 'refs/heads/x', prNumber: 4 },
        { idempotencyKey: 'p2' },
      );
      await runs.transition(run.id, { from: 'queued', to: 'gating', eventKey: 'g' });
      await runs.transition(run.id, { from: 'queued', to: 'gating', eventKey: 'g' });
      await runs.appendEvent(run.id, { type: 'log', message: 'hi' }, { eventKey: 'e' });
      await runs.updateRunFields(run.id, { app: 'shop' });
      await runs.claimStep(run.id, 'commit');
      await runs.releaseStep(run.id, 'commit');
      await runs.recordStepResult(run.id, 'commit', { sha: 'b'.repeat(40) });
      await runs.getStepResult(run.id, 'commit');
      await runs.supersedeOlderPrRuns('acme/shop', 4, run.id);
      await redis.del(runs.keys.run(older.run.id));
      await runs.listRuns({ repo: 'acme/shop' });
      await runs.listRuns({ state: 'queued' });

      const locks = new DeployLock(redis, { prefix: `${prefix}:deploy` });
      await locks.waitTurn('shop', 'staging', run.id, 1);
      await locks.renew('shop', 'staging', run.id);
      await locks.release('shop', 'staging', run.id);
      await locks.acquire('shop', 'staging', run.id);

      const approvals = new ApprovalStore(redis, `${prefix}:approvals`);
      const rule = {
        approvers: { users: ['U1'], userGroups: [] },
        required: 1,
        releaserMayApprove: false,
        expiresAfterHours: 1,
        channel: 'C1',
      };
      const expiresAt = new Date(Date.now() + 3600_000);
      await approvals.openRequest({ runId: 'r1', env: 'prod', app: 'shop', rule, expiresAt, channel: 'C1' });
      const { request } = await approvals.openRequest({
        runId: 'r2',
        env: 'prod',
        app: 'shop',
        rule,
        expiresAt,
        channel: 'C1',
      });
      await approvals.recordClick({
        runId: 'r2',
        env: 'prod',
        userId: 'U1',
        decision: 'approve',
        now: new Date(),
        via: 'slack',
        nonce: request.nonce,
      });
      await approvals.attachMessage('r2', 'prod', 'C1', '1.2');
      await approvals.markRendered('r2', 'prod', 2);
      await approvals.acquireRenderLock('r2', 'prod', 'tok');
      await approvals.releaseRenderLock('r2', 'prod', 'tok');
      await approvals.claimNotice('r2', 'prod', 'U1');
      await approvals.expire('r1', 'prod');
      await approvals.supersede('r2', 'prod', 'r3');

      const at = new Date().toISOString();
      await new AuditLog(redis, { prefix: `${prefix}:audit` }).record(
        { kind: 'approval', actor: 'U1', via: 'slack', at, outcome: 'approved', reason: 'ok' },
        'approval:r2',
      );
      await new DeployHistory(redis, { prefix: `${prefix}:dora` }).record({
        runId: run.id,
        runKind: 'release',
        app: 'shop',
        env: 'prod',
        outcome: 'succeeded',
        at,
      });

      const queue = new Queue('webhook', { connection: redis, prefix: bullmqPrefix(prefix) });
      const enqueuer = createDeliveryEnqueuer({ producer: redis, queue });
      const job = { v: 1 } as unknown as WebhookJob;
      await Promise.all(['d1', 'd2', 'd3'].map((id) => enqueuer.enqueue(id, job)));
      await enqueuer.enqueue('d1', job);
      await queue.close();

      const ours = units(sent).filter((u) => u.keys.length > 1 && u.keys.some((k) => k.includes(prefix)));
      const names = new Set(ours.map((u) => u.name));
      // The test saw scripts and a transaction, or it proves nothing.
      expect(names.has('evalsha') || names.has('eval')).toBe(true);
      expect(names.has('multi…exec')).toBe(true);
      expect(ours.length).toBeGreaterThan(20);
      const crossSlot = ours.filter((u) => new Set(u.keys.map(clusterKeySlot)).size > 1);
      expect(crossSlot).toEqual([]);
    });
  },
);
