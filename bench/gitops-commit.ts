/**
 * Commit latency against env-repo size: `npx tsx bench/gitops-commit.ts`.
 *
 * Builds bare env repos on disk with 10,000 commits of history (via `git fast-import`), one
 * with 10 apps and one with 1,000 apps (two environments each), then times ~20 sequential
 * `commitToEnvRepo` calls (direct mode, default options: shallow + blob:none fetch over
 * file://, so upload-pack does the same work it would for GitHub). Prints p50/p95/max.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GitCli } from '../src/git/git-cli.js';
import { commitToEnvRepo } from '../src/gitops/commit-to-env-repo.js';
import { readLive } from '../src/gitops/read-live.js';
import type { EnvRepoOptions } from '../src/gitops/write-env-path.js';

const HISTORY = Number(process.env.BENCH_HISTORY ?? 10_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 20);
const SCENARIOS = (process.env.BENCH_APPS ?? '10,1000').split(',').map(Number);

function git(cwd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd,
      env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`git ${args[0]}: ${err}`))));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

function manifest(app: string, env: string, version: number): string {
  return `apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: ${app}\n  namespace: ${app}-${env}\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n        - name: ${app}\n          image: ghcr.io/acme/${app}:1.0.${version}\n`;
}

/** A fast-import stream: one commit with every app, then HISTORY-1 commits touching one app each. */
function history(apps: number): string {
  const parts: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const when = 1_700_000_000;
  for (let i = 0; i < HISTORY; i++) {
    parts.push('commit refs/heads/main\n', `mark :${i + 1}\n`);
    parts.push(`committer Bench <bench@example.com> ${when + i} +0000\n`);
    parts.push(data(i === 0 ? 'initial layout' : `deploy app-${i % apps}`));
    if (i > 0) parts.push(`from :${i}\n`);
    if (i === 0) {
      parts.push(`M 100644 inline README.md\n${data('# env repo\n')}`);
      for (let a = 0; a < apps; a++) {
        for (const env of ['staging', 'production']) {
          parts.push(
            `M 100644 inline apps/app-${a}/${env}/rollout-app-${a}.yaml\n${data(manifest(`app-${a}`, env, 0))}`,
          );
        }
      }
    } else {
      const a = i % apps;
      parts.push(
        `M 100644 inline apps/app-${a}/staging/rollout-app-${a}.yaml\n${data(manifest(`app-${a}`, 'staging', i))}`,
      );
    }
    parts.push('\n');
  }
  return parts.join('');
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

async function scenario(apps: number): Promise<Record<string, string | number>> {
  const root = await mkdtemp(path.join(tmpdir(), 'shipgate-bench-gitops-'));
  try {
    const bare = path.join(root, 'remote.git');
    await git(root, ['init', '--quiet', '--bare', '--initial-branch=main', bare]);
    await git(bare, ['config', 'uploadpack.allowFilter', 'true']);
    await git(bare, ['config', 'uploadpack.allowAnySHA1InWant', 'true']);
    const t0 = Date.now();
    await git(bare, ['fast-import', '--quiet'], history(apps));
    await git(bare, ['repack', '-adq']);
    const built = Date.now() - t0;
    const commits = Number((await git(bare, ['rev-list', '--count', 'main'])).trim());
    const size = (await git(bare, ['count-objects', '-vH'])).match(/size-pack: (.*)/)?.[1] ?? '?';

    const options: EnvRepoOptions = {
      git: new GitCli(),
      remote: { url: `file://${bare}` },
      workDir: path.join(root, 'work'),
    };
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const app = `app-${(i * 7) % apps}`;
      const started = performance.now();
      const result = await commitToEnvRepo(options, {
        path: `apps/${app}/production`,
        app,
        env: 'production',
        files: [{ name: `rollout-${app}.yaml`, content: manifest(app, 'production', 100_000 + i) }],
        trailers: {
          shipgateRun: `bench-${apps}-${i}`,
          sourceRepo: `acme/${app}`,
          sourceCommit: String(i).padStart(40, '0'),
          image: `ghcr.io/acme/${app}:1.0.${100_000 + i}`,
          gates: 'tests=passed trivy=passed zap=passed',
        },
      });
      samples.push(performance.now() - started);
      if (result.status !== 'committed') throw new Error(`sample ${i}: ${result.status}`);
    }
    const readStarted = performance.now();
    await readLive(options, { path: 'apps/app-0/production' });
    const readLiveMs = performance.now() - readStarted;
    samples.sort((a, b) => a - b);
    return {
      apps,
      commits,
      pack: size,
      'build s': (built / 1000).toFixed(1),
      'p50 ms': Math.round(percentile(samples, 50)),
      'p95 ms': Math.round(percentile(samples, 95)),
      'max ms': Math.round(samples.at(-1)!),
      'readLive ms': Math.round(readLiveMs),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const rows = [];
for (const apps of SCENARIOS) rows.push(await scenario(apps));
console.table(rows);
const keys = Object.keys(rows[0]!);
console.log(`\n| ${keys.join(' | ')} |\n|${keys.map(() => '---').join('|')}|`);
for (const row of rows) console.log(`| ${keys.map((k) => row[k]).join(' | ')} |`);
