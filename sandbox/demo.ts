/**
 * `shipgate demo`: a whole release on this machine, through the real product code.
 *
 * Shipgate runs as `shipgate start` assembles it (HTTP ingress, BullMQ workers, an embedded
 * redis-server), against real git repos under `.shipgate/demo/` and the sandbox simulators of
 * GitHub, Argo CD + a cluster + the Rollouts controller, and Slack. It plays: a pull request
 * with its checks; a release tag to staging; a wait for an approval given with `shipgate
 * approve`; production; a second release whose analysis fails and is rolled back by a revert.
 *
 * `--yes` approves by itself and exits 0 only when every stage went as expected (CI runs it
 * so). `--keep` leaves everything running for exploring; Ctrl-C stops it all.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { approveCommand } from '../src/commands/approve.js';
import type { RunStore } from '../src/runs/run-store.js';
import type { Run } from '../src/runs/run-types.js';
import { APPROVER, createDemoWorld, git, type DemoWorld } from './demo-world.js';
import {
  deliverWebhook,
  demoPayload as payload,
  startDemoShipgate,
  tagPushPayload,
  type DemoShipgate,
} from './start-demo-shipgate.js';

export interface DemoOptions {
  /** Approve by itself instead of waiting for `shipgate approve`. */
  yes: boolean;
  /** Leave everything running at the end, until Ctrl-C. */
  keep: boolean;
  /** Where the repos and data go. @defaultValue .shipgate/demo */
  dir: string;
  /** Shipgate's own log level (its logs go to stdout among the demo's lines). @defaultValue silent */
  logLevel: string;
  /** Ctrl-C. */
  signal: AbortSignal;
  out: (line: string) => void;
}

export interface StageResult {
  name: string;
  ok: boolean;
  ms: number;
  detail: string;
}

class StageFailed extends Error {}

function expectThat(condition: unknown, what: string): void {
  if (!condition) throw new StageFailed(what);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export async function runDemo(options: DemoOptions): Promise<StageResult[]> {
  const { out, signal } = options;
  const results: StageResult[] = [];
  let world: DemoWorld | undefined;
  let shipgate: DemoShipgate | undefined;
  const t0 = Date.now();

  async function stage(name: string, play: () => Promise<string>): Promise<void> {
    const started = Date.now();
    out(`\n▶ ${name}`);
    try {
      const detail = await play();
      const ms = Date.now() - started;
      results.push({ name, ok: true, ms, detail });
      out(`✓ ${name} (${seconds(ms)})${detail ? `: ${detail}` : ''}`);
    } catch (err) {
      const ms = Date.now() - started;
      const detail = signal.aborted ? 'stopped (Ctrl-C)' : (err as Error).message;
      results.push({ name, ok: false, ms, detail });
      out(`✗ ${name} (${seconds(ms)}): ${detail}`);
      throw err;
    }
  }

  try {
    let base = '';
    let runs: RunStore | undefined;
    const printed = new Map<string, number>();

    /** Prints a run's new events as they come, until `done(run)` holds. */
    const follow = async (
      match: (r: Run) => boolean,
      done: (r: Run) => boolean,
      what: string,
      timeoutMs = 180_000,
    ) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const run = (await runs!.listRuns({ repo: 'acme/web', limit: 20 })).runs.find(match);
        if (run !== undefined) {
          const events = await runs!.getEvents(run.id);
          const seen = printed.get(run.id) ?? 0;
          for (const e of events.filter((x) => x.seq > seen))
            out(`    ${seconds(Date.parse(e.at) - t0).padStart(7)}  ${e.message}`);
          printed.set(run.id, Math.max(seen, events.at(-1)?.seq ?? 0));
          if (done(run)) return run;
        }
        if (Date.now() > deadline) throw new StageFailed(`${what}: not reached in ${timeoutMs / 1000} s`);
        await sleep(200, signal);
      }
    };

    const deliver = async (event: string, body: unknown) => {
      const status = await deliverWebhook(base, world!, 'GitHub-Hookshot/demo', event, body);
      expectThat(status === 202, `the ${event} webhook got HTTP ${status}, expected 202`);
    };

    const approve = async (run: Run, note: string) => {
      // The run waits before its approval request exists: approve once the request is out.
      const deadline = Date.now() + 60_000;
      while (!(await runs!.getEvents(run.id)).some((e) => e.type === 'approval-requested')) {
        if (Date.now() > deadline) throw new StageFailed('no approval request within 60 s');
        await sleep(200, signal);
      }
      if (options.yes) {
        out(`    approving as ${APPROVER} (--yes): shipgate approve ${run.id} production --as ${APPROVER}`);
        const code = await approveCommand.run([run.id, 'production', '--as', APPROVER, '--url', base]);
        expectThat(code === 0, `shipgate approve exited ${code}`);
        return;
      }
      out(`    ${note} Waiting for you. In another terminal, run:`);
      out(`      set -a; . ${path.relative(process.cwd(), path.join(options.dir, 'demo.env'))}; set +a`);
      out(`      npx shipgate approve ${run.id} production --as ${APPROVER}`);
    };

    await stage('start: simulators, repos and Shipgate', async () => {
      world = await createDemoWorld(options.dir);
      shipgate = await startDemoShipgate(world, options.logLevel);
      base = shipgate.base;
      runs = shipgate.runs;
      process.env.SHIPGATE_API_TOKEN = world.shipgateEnv.SHIPGATE_API_TOKEN;
      writeFileSync(
        path.join(options.dir, 'demo.env'),
        `SHIPGATE_URL=${base}\nSHIPGATE_API_TOKEN=${world.shipgateEnv.SHIPGATE_API_TOKEN}\n`,
        { mode: 0o600 },
      );
      const rel = (p: string) => path.relative(process.cwd(), p) || '.';
      out(
        `    Shipgate    ${base} (API: ${base}/api/runs; health: ${base}/readyz; metrics: ${base}/metrics)`,
      );
      out(
        `    Console     ${base}/auth/login (sign in as releaser-gh, approver-gh, operator-gh or viewer-gh)`,
      );
      out(`    GitHub      ${world.github.url} (simulated: checks, deployments, contents, git over HTTP)`);
      out(`    Argo CD     ${world.argo.url} (simulated, with a cluster and the Rollouts controller)`);
      out(`    Slack       ${world.slack.apiUrl} (simulated)`);
      out(`    app repo    ${rel(world.app.work)}   env repo: git -C ${rel(world.env.bare)} log --oneline`);
      out(`    CLI         set -a; . ${rel(path.join(options.dir, 'demo.env'))}; set +a; npx shipgate runs`);
      return 'v0.9.0 is live in staging and production';
    });

    await stage('1. a pull request and its checks', async () => {
      git(world!.app.work, ['checkout', '-q', '-b', 'feature/banner']);
      git(world!.app.work, ['commit', '-q', '--allow-empty', '-m', 'web: a new banner']);
      const sha = world!.publishApp();
      const pr = payload('pull_request-opened.json');
      const p = pr.pull_request as Record<string, Record<string, unknown>>;
      p.head!.sha = sha;
      p.head!.repo = { ...(p.head!.repo as object), full_name: 'acme/web', fork: false };
      p.base!.repo = { ...(p.base!.repo as object), full_name: 'acme/web' };
      (pr.pull_request as Record<string, unknown>).number = 7;
      pr.number = 7;
      await deliver('pull_request', pr);
      const names = ['shipgate/config', 'shipgate/tests', 'shipgate/trivy', 'shipgate/manifests'];
      await follow(
        (r) => r.kind === 'pr' && r.sha === sha,
        (r) => r.state === 'succeeded' || r.state === 'failed',
        'the pull request run',
      );
      const checks = world!.github.checkRuns('acme', 'web').filter((c) => c.head_sha === sha);
      for (const name of names) {
        const check = checks.find((c) => c.name === name);
        expectThat(check?.conclusion === 'success', `${name} is ${String(check?.conclusion ?? 'missing')}`);
      }
      git(world!.app.work, ['checkout', '-q', 'main']);
      git(world!.app.work, ['merge', '-q', '--ff-only', 'feature/banner']);
      return `${names.join(', ')}: success (PR #7 merged)`;
    });

    const tagPush = (tag: string, sha: string) => {
      git(world!.app.work, ['tag', tag, sha]);
      git(world!.app.work, ['push', '-q', 'origin', 'main', tag]);
      return tagPushPayload(tag, sha, 'releaser-gh');
    };

    let first: Run | undefined;
    await stage('2. release v1.0.0 to staging: gates, blue-green preview, promotion', async () => {
      const sha = world!.publishApp();
      await deliver('push', tagPush('v1.0.0', sha));
      first = await follow(
        (r) => r.tag === 'v1.0.0',
        (r) => ['awaiting-approval', 'succeeded', 'failed', 'rolled-back'].includes(r.state),
        'v1.0.0 waiting for approval',
      );
      expectThat(first.state === 'awaiting-approval', `v1.0.0 is ${first.state}: ${first.reason ?? ''}`);
      const image = world!.sim.healthyImages('web-staging').at(-1);
      expectThat(image === 'ghcr.io/acme/web:v1.0.0', `staging runs ${image}`);
      return 'staging runs ghcr.io/acme/web:v1.0.0; production waits for an approval';
    });

    await stage('3. approval for production', async () => {
      await approve(first!, 'An approver from the policy must approve.');
      const after = await follow(
        (r) => r.id === first!.id,
        (r) => r.state !== 'awaiting-approval',
        'the approval',
        // A person approving takes the time they take.
        options.yes ? 180_000 : Number.POSITIVE_INFINITY,
      );
      expectThat(after.approvals.length > 0, 'no approval recorded');
      return `approved by ${after.approvals.map((a) => a.slackUserId).join(', ')}`;
    });

    await stage('4. production', async () => {
      const done = await follow(
        (r) => r.id === first!.id,
        (r) => ['succeeded', 'failed', 'rolled-back'].includes(r.state),
        'v1.0.0 in production',
      );
      expectThat(done.state === 'succeeded', `v1.0.0 ended ${done.state}: ${done.reason ?? ''}`);
      const commit = world!.env
        .log(10)
        .find((c) => c.message.includes(`Shipgate-Run: ${done.id}`) && c.message.includes('production'));
      expectThat(commit !== undefined, 'no production commit in the env repo');
      expectThat(/^Approved-by: /m.test(commit!.message), 'the production commit has no Approved-by');
      const image = world!.sim.healthyImages('web-production').at(-1);
      expectThat(image === 'ghcr.io/acme/web:v1.0.0', `production runs ${image}`);
      return `production runs v1.0.0; env repo ${commit!.sha.slice(0, 12)} has ${commit!.message.match(/^Approved-by: .*$/m)?.[0]}`;
    });

    await stage('5. release v1.1.0: its analysis fails in production, rolled back', async () => {
      git(world!.app.work, ['commit', '-q', '--allow-empty', '-m', 'web: a slower query']);
      const sha = world!.publishApp();
      await deliver('push', tagPush('v1.1.0', sha));
      const waiting = await follow(
        (r) => r.tag === 'v1.1.0',
        (r) =>
          r.state !== 'queued' && r.state !== 'gating' && r.state !== 'deploying' && r.state !== 'verifying',
        'v1.1.0 waiting for approval',
      );
      expectThat(
        waiting.state === 'awaiting-approval',
        `v1.1.0 is ${waiting.state}: ${waiting.reason ?? ''}`,
      );
      // From here the simulated cluster's post-promotion analysis fails: production's will.
      world!.sim.scenario.post = 'Failed';
      await approve(waiting, 'v1.1.0 passed staging.');
      const end = await follow(
        (r) => r.id === waiting.id,
        (r) => ['succeeded', 'failed', 'rolled-back'].includes(r.state),
        'v1.1.0 in production',
        options.yes ? 180_000 : Number.POSITIVE_INFINITY,
      );
      expectThat(end.state === 'rolled-back', `v1.1.0 ended ${end.state}, expected rolled-back`);
      const [revert, bad] = world!.env.log(2);
      expectThat(bad?.message.includes(`Shipgate-Run: ${end.id}`), 'no v1.1.0 production commit');
      expectThat(revert?.message.includes(`Reverts: ${bad!.sha}`), 'the newest env commit is not its revert');
      const live = world!.env.show('main', 'apps/web/production/rollout-web.yaml') ?? '';
      expectThat(live.includes('image: ghcr.io/acme/web:v1.0.0'), 'git does not say v1.0.0 is live again');
      return `rolled back (${end.reason ?? ''}); revert ${revert!.sha.slice(0, 12)} puts v1.0.0 back in git`;
    });

    const rel = path.relative(process.cwd(), world!.env.bare) || '.';
    out(`\nEvery stage went as expected in ${seconds(Date.now() - t0)}. Look around:`);
    out(`  git -C ${rel} log --format='%h %s%n%b' -4`);
    out(`  curl -s -H "authorization: Bearer $SHIPGATE_API_TOKEN" ${base}/api/runs   (token in demo.env)`);
    if (options.keep) {
      out(`\nStill running (--keep). Ctrl-C stops everything.`);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    }
    return results;
  } catch (err) {
    if (!(err instanceof StageFailed) && !signal.aborted && results.every((r) => r.ok)) {
      results.push({ name: 'demo', ok: false, ms: 0, detail: (err as Error).message });
    }
    return results;
  } finally {
    await shipgate?.stop('demo finished');
    await world?.close();
  }
}

const say = (line: string) => process.stdout.write(`${line}\n`);

export const USAGE = 'shipgate demo [--yes] [--keep] [--dir .shipgate/demo] [--verbose]';

/** The `shipgate demo` command line; resolves to the exit code. */
export async function demoMain(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      yes: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      dir: { type: 'string', default: '.shipgate/demo' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('stopped'));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  say('Shipgate demo: a pull request, two releases, an approval and a rollback, all on this machine.');
  const results = await runDemo({
    yes: values.yes,
    keep: values.keep,
    dir: path.resolve(values.dir),
    logLevel: values.verbose ? 'info' : 'silent',
    signal: controller.signal,
    out: (line) => say(line),
  });
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  const failed = results.find((r) => !r.ok);
  if (controller.signal.aborted) {
    say('\nStopped; everything the demo started is stopped too.');
    return failed ? 130 : 0;
  }
  if (failed !== undefined) {
    console.error(`shipgate demo: stage failed: ${failed.name}: ${failed.detail}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await demoMain(process.argv.slice(2));
}
