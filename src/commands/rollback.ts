import { parseArgs } from 'node:util';
import type { Queue } from 'bullmq';
import {
  enqueueRollbackRequest,
  rollbackRequestStatus,
  type RollbackRequestStatus,
} from '../engine/triggers/start-rollback-run.js';
import { ConfigInvalid } from '../errors.js';
import { closeQueues, createQueue } from '../queue/create-queues.js';
import { createRedisConnection } from '../redis/connection.js';
import { embeddedRedisUrl } from '../redis/embedded-redis.js';
import { isTerminal } from '../runs/run-state-machine.js';
import { RunStore } from '../runs/run-store.js';
import type { Command } from './command.js';
import { readConfig } from './runtime.js';

const USAGE =
  'shipgate rollback <app> <env> [--to <tag|sha>] [--as <github-login>] [--wait [--timeout <seconds>]]';

/**
 * `shipgate rollback web production --to v1.4.2`: queues the same `rollback-request` job as
 * `POST /api/rollbacks`, straight into Redis (REDIS_URL, or the redis-server of a running
 * `shipgate start`), and prints its id. A worker plans it from the env repo's history and
 * deploys it as a `rollback` run through the usual lock, commit, sync and gates. With `--wait`
 * it follows the run to its end and exits 0 only when the rollback succeeded.
 */
export const rollbackCommand: Command = {
  name: 'rollback',
  summary: 'roll an app back in an environment to an earlier good release (default: the previous one)',
  usage: USAGE,
  flags: [
    {
      flag: '--to <tag|sha>',
      description: 'the release to go back to (default: the one before the live one)',
    },
    { flag: '--as <github-login>', description: 'who asks, for the audit (default: cli)' },
    { flag: '--wait', description: 'follow the rollback run to its end; exit 0 only when it succeeded' },
    { flag: '--timeout <seconds>', description: 'how long --wait waits (default 900)' },
  ],
  env: ['REDIS_URL (or a running `shipgate start`)', 'SHIPGATE_QUEUE_PREFIX'],
  examples: ['shipgate rollback web production --to v1.4.2 --wait'],
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        to: { type: 'string' },
        as: { type: 'string' },
        wait: { type: 'boolean', default: false },
        timeout: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    const [app, env, extra] = positionals;
    if (app === undefined || env === undefined || extra !== undefined) {
      console.error(`Usage: ${USAGE}`);
      return 2;
    }
    const timeoutSeconds = values.timeout === undefined ? 900 : Number(values.timeout);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) {
      throw ConfigInvalid(
        '--timeout',
        `must be a whole number of seconds (got ${JSON.stringify(values.timeout)})`,
      );
    }
    const config = readConfig('cli');
    const redisUrl = config.redisUrl ?? embeddedRedisUrl(config.dataDir);
    if (redisUrl === undefined) {
      throw ConfigInvalid(
        'REDIS_URL',
        'is required for shipgate rollback (or run it while `shipgate start` is up)',
      );
    }
    const redis = createRedisConnection(redisUrl, 'worker', { connectionName: 'shipgate-rollback' });
    const queue = createQueue('deploy', redis, config.queuePrefix);
    try {
      const { requestId, jobId } = await enqueueRollbackRequest(queue, {
        app,
        env,
        ...(values.to === undefined ? {} : { to: values.to }),
        requestedBy: values.as ?? 'cli',
      });
      console.log(`Rollback of ${app} in ${env} requested: ${requestId} (job ${jobId}).`);
      if (!values.wait) {
        console.log(`Follow it with GET /api/rollbacks/${requestId}, or run again with --wait.`);
        return 0;
      }
      const deadline = Date.now() + timeoutSeconds * 1000;
      const answer = await pollRequest(queue, requestId, deadline);
      if (answer === undefined) {
        console.error('shipgate: no worker answered in time (is `shipgate work` running?)');
        return 1;
      }
      if (answer.status === 'failed') {
        console.error(`shipgate: the rollback request failed: ${answer.reason}`);
        return 1;
      }
      const result = answer.result;
      if (result.outcome === 'refused') {
        console.error(`shipgate: ${result.error.message} (${result.error.code})`);
        return 1;
      }
      const target = result.target.tag ?? result.target.sha.slice(0, 12);
      console.log(
        `${result.created ? 'Started' : 'Found the same rollback already as'} run ${result.runId}: ${app} in ${env} → ${target}.`,
      );
      const runs = new RunStore(redis, { prefix: `${config.queuePrefix}:runs` });
      for (;;) {
        const run = await runs.getRun(result.runId);
        if (run !== undefined && isTerminal(run.state)) {
          console.log(`Run ${run.id} ${run.state}${run.reason ? `: ${run.reason}` : ''}.`);
          return run.state === 'succeeded' ? 0 : 1;
        }
        if (Date.now() > deadline) {
          console.error(`shipgate: run ${result.runId} is still ${run?.state ?? 'unknown'}; stopped waiting`);
          return 1;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    } finally {
      await closeQueues([queue]);
      redis.disconnect();
    }
  },
};

async function pollRequest(
  queue: Queue,
  requestId: string,
  deadline: number,
): Promise<Extract<RollbackRequestStatus, { status: 'done' | 'failed' }> | undefined> {
  for (;;) {
    const status = await rollbackRequestStatus(queue, requestId);
    if (status?.status === 'done' || status?.status === 'failed') return status;
    if (Date.now() > deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
