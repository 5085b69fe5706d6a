/**
 * Executor overhead: the local executor's checkout + run against a bare `git clone && cmd` of
 * the same repo, N runs each, over file:// and over loopback smart HTTP with a token.
 *   npx tsx bench/executor.ts [N]
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LocalExecutor } from '../src/executors/local-executor.js';
import { createGitRemote, serveGitOverHttp, type FixtureCommit } from '../sandbox/git-remote.js';

const run = promisify(execFile);
const N = Number(process.argv[2] ?? 20);

function repoCommits(): FixtureCommit[] {
  // ~300 files of ~2 KiB over 20 commits: a small service repository.
  return Array.from({ length: 20 }, (_, c) =>
    Object.fromEntries(
      Array.from({ length: 15 }, (_, f) => [
        `src/mod${c}/file${f}.ts`,
        `export const v${c}_${f} = '${'x'.repeat(2000)}';\n`,
      ]),
    ),
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(
  label: string,
  fn: () => Promise<void>,
): Promise<{ label: string; p50: number; p95: number; mean: number }> {
  await fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < N; i += 1) {
    const t = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  return {
    label,
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    mean: times.reduce((a, b) => a + b, 0) / N,
  };
}

async function main(): Promise<void> {
  const remote = createGitRemote(repoCommits());
  const sha = remote.shas.at(-1)!;
  const token = 'ghs_benchToken000000000000000000000000';
  const http = await serveGitOverHttp(remote.bareDir, token);
  const workRoot = mkdtempSync(path.join(tmpdir(), 'shipgate-bench-'));
  const executor = new LocalExecutor({ workRoot });
  const command = ['sh', '-c', 'test -f src/mod0/file0.ts'];

  const bare = (url: string) => async () => {
    const dir = mkdtempSync(path.join(workRoot, 'bare-'));
    await run(
      'sh',
      [
        '-c',
        `git clone -q "$1" src && cd src && git -c advice.detachedHead=false checkout -q "$2" && ${command[2]}`,
        'sh',
        url,
        sha,
      ],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '', HOME: dir, GIT_CONFIG_NOSYSTEM: '1' },
      },
    );
    rmSync(dir, { recursive: true, force: true });
  };
  const authedUrl = http.cloneUrl.replace('http://', `http://x-access-token:${token}@`);
  const shipgate = (cloneUrl: string, withToken: boolean) => async () => {
    const result = await executor.run({
      runId: 'bench',
      gate: 'tests',
      attemptKey: 'bench',
      image: 'n/a',
      command,
      env: {},
      checkout: { cloneUrl, sha, ...(withToken ? { token: async () => token } : {}) },
      timeoutSeconds: 60,
      reportFiles: {},
    });
    if (result.exitCode !== 0) throw new Error(`run failed: ${result.logTail}`);
  };

  const results = [
    await measure('bare `git clone && cmd` (file://)', bare(remote.fileUrl)),
    await measure('LocalExecutor checkout + run (file://)', shipgate(remote.fileUrl, false)),
    // The bare baseline puts the token in the URL — exactly what Shipgate avoids; it is only a timing reference.
    await measure('bare `git clone && cmd` (HTTP, token in URL)', bare(authedUrl)),
    await measure('LocalExecutor checkout + run (HTTP, askpass token)', shipgate(http.cloneUrl, true)),
  ];
  await http.close();
  remote.cleanup();
  rmSync(workRoot, { recursive: true, force: true });

  console.log(`Executor overhead, N=${N} (after 1 warm-up), repo: 300 files × 2 KiB, 20 commits\n`);
  console.log('| scenario | p50 ms | p95 ms | mean ms |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const r of results)
    console.log(`| ${r.label} | ${r.p50.toFixed(1)} | ${r.p95.toFixed(1)} | ${r.mean.toFixed(1)} |`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
