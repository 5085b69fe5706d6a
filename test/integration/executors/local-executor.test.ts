import { existsSync, mkdtempSync, readdirSync, readFileSync, readdirSync as ls, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckoutFailed } from '../../../src/errors.js';
import type { ExecutionSpec } from '../../../src/executors/executor.js';
import { LocalExecutor } from '../../../src/executors/local-executor.js';
import { createGitRemote, serveGitOverHttp, type GitRemote } from '../../../sandbox/git-remote.js';

const script = (body: string) => ({ content: `#!/bin/sh\n${body}\n`, executable: true });

let remote: GitRemote;
let workRoot: string;
let scratch: string;

beforeAll(() => {
  remote = createGitRemote([
    {
      'version.txt': 'v1\n',
      'ok.sh': script('echo "hello from $(cat version.txt)"'),
      'fail.sh': script('echo "about to fail" >&2; exit 3'),
      'hang.sh': script('sleep 300 & echo "grandchild=$!"; echo started > "$STARTED_FILE"; wait'),
      'stubborn.sh': script(`trap '' TERM; sleep 300 & echo "grandchild=$!"; wait; wait; sleep 300`),
      'flood.sh': script("head -c 200000000 /dev/zero | tr '\\0' x; echo; echo TAIL-END"),
      'report.sh': script(
        'mkdir -p out; echo \'{"ok":true}\' > out/report.json; ln -s /etc/passwd out/link.json',
      ),
      'big-report.sh': script('head -c 5000 /dev/zero > big.json'),
    },
    { 'version.txt': 'v2\n' },
  ]);
  workRoot = mkdtempSync(path.join(tmpdir(), 'shipgate-local-exec-'));
  scratch = mkdtempSync(path.join(tmpdir(), 'shipgate-local-scratch-'));
});

afterAll(() => {
  remote.cleanup();
  rmSync(workRoot, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

function spec(command: string[], extra: Partial<ExecutionSpec> = {}): ExecutionSpec {
  return {
    runId: 'run-1',
    gate: 'tests',
    attemptKey: 'run-1:tests',
    image: 'ignored-locally',
    command,
    env: {},
    checkout: { cloneUrl: remote.fileUrl, sha: remote.shas[0]! },
    timeoutSeconds: 30,
    reportFiles: {},
    ...extra,
  };
}

function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // A zombie is dead; it only waits for its reaper.
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/**
 * Gates run in their own PID namespace, so the pid a script prints is the sandbox's. Finds the
 * host processes whose innermost pid is that one and whose program is `sleep`.
 */
function sandboxedSleepAlive(innerPid: number): boolean {
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const nspid = /^NSpid:\s+(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
      if (nspid.length < 2 || nspid.at(-1) !== innerPid) continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\0')) continue;
      if (pidAlive(Number(pid))) return true;
    } catch {
      // exited meanwhile
    }
  }
  return false;
}

/** The marker a script writes in its checkout, seen from the host. */
function startedMarkerExists(): boolean {
  return ls(workRoot).some((d) => existsSync(path.join(workRoot, d, 'src', 'started')));
}

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('LocalExecutor', () => {
  const executor = () => new LocalExecutor({ workRoot, killGraceMs: 500 });

  it('checks out the exact sha, runs the command, and cleans up its temp dir', async () => {
    const first = await executor().run(spec(['./ok.sh']));
    expect(first).toMatchObject({ exitCode: 0, timedOut: false, cancelled: false });
    expect(first.logTail).toBe('hello from v1\n');
    const second = await executor().run(
      spec(['./ok.sh'], { checkout: { cloneUrl: remote.fileUrl, sha: remote.shas[1]! } }),
    );
    expect(second.logTail).toBe('hello from v2\n');
    // Exactly one commit was fetched (git init + fetch --depth 1 origin <sha>), not the history.
    const shallow = await executor().run(spec(['sh', '-c', 'cat .git/shallow; git rev-list --count HEAD']));
    expect(shallow.logTail).toBe(`${remote.shas[0]}\n1\n`);
    expect(ls(workRoot)).toEqual([]);
  });

  it('reports a failing command with its exit code and output', async () => {
    const result = await executor().run(spec(['./fail.sh']));
    expect(result.exitCode).toBe(3);
    expect(result.logTail).toContain('about to fail');
  });

  it('runs with a scrubbed environment and a private HOME', async () => {
    process.env.SHIPGATE_TEST_WORKER_SECRET = 'worker-secret-value';
    try {
      const result = await executor().run(spec(['env'], { env: { GATE_VAR: 'yes' } }));
      const vars = Object.fromEntries(
        result.logTail
          .trim()
          .split('\n')
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      // PWD is bwrap's (it sets it with --chdir); nothing comes from the worker.
      expect(Object.keys(vars).sort()).toEqual(['GATE_VAR', 'HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR'].sort());
      expect(vars.HOME).toBe('/workspace/home');
      expect(vars.TMPDIR).toBe('/tmp');
      expect(result.logTail).not.toContain('worker-secret-value');
    } finally {
      delete process.env.SHIPGATE_TEST_WORKER_SECRET;
    }
  });

  it('kills the whole process group on timeout, grandchildren included', async () => {
    const result = await executor().run(
      spec(['./hang.sh'], { timeoutSeconds: 1, env: { STARTED_FILE: 'started' } }),
    );
    expect(result.timedOut).toBe(true);
    expect(result.exitCode).not.toBe(0);
    const pid = Number(/grandchild=(\d+)/.exec(result.logTail)?.[1]);
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => !sandboxedSleepAlive(pid));
    expect(ls(workRoot)).toEqual([]);
  });

  it('ends a group that ignores SIGTERM', async () => {
    const began = Date.now();
    const result = await executor().run(spec(['./stubborn.sh'], { timeoutSeconds: 1 }));
    expect(result.timedOut).toBe(true);
    // bwrap dies of the SIGTERM and its PID namespace dies with it (SIGKILL for all inside).
    expect(result.exitCode).toBeGreaterThan(128);
    expect(Date.now() - began).toBeLessThan(10_000);
    const pid = Number(/grandchild=(\d+)/.exec(result.logTail)?.[1]);
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => !sandboxedSleepAlive(pid));
  });

  it('keeps only the tail of a flood of output, with bounded memory', async () => {
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }, 5);
    const result = await new LocalExecutor({ workRoot, logTailBytes: 4096 }).run(spec(['./flood.sh']));
    clearInterval(sampler);
    expect(result.exitCode).toBe(0);
    expect(result.logBytes).toBe(200_000_000 + '\nTAIL-END\n'.length);
    expect(Buffer.byteLength(result.logTail)).toBeLessThanOrEqual(4096);
    expect(result.logTail.endsWith('x\nTAIL-END\n')).toBe(true);
    // 200 MB went through. Dropped chunks wait for the GC, so some garbage shows; holding the
    // output would show all of it.
    expect(peak - baseline).toBeLessThan(120 * 1024 * 1024);
  });

  it('cancels a running command through the AbortSignal', async () => {
    const controller = new AbortController();
    const running = executor().run(spec(['./hang.sh'], { env: { STARTED_FILE: 'started' } }), {
      signal: controller.signal,
    });
    await waitFor(startedMarkerExists, 10_000);
    controller.abort();
    const result = await running;
    expect(result).toMatchObject({ cancelled: true, timedOut: false });
    const pid = Number(/grandchild=(\d+)/.exec(result.logTail)?.[1]);
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => !sandboxedSleepAlive(pid));
    expect(ls(workRoot)).toEqual([]);
  });

  it('returns report files, refusing symlinks and oversized files', async () => {
    const result = await executor().run(
      spec(['./report.sh'], {
        reportFiles: { main: 'out/report.json', link: 'out/link.json', none: 'nope.json' },
      }),
    );
    expect(result.reports.main).toBe('{"ok":true}\n');
    expect(result.reports.link).toBeUndefined();
    expect(result.reportProblems.link).toMatch(/symlink/);
    expect(result.reports.none).toBeUndefined();
    expect(result.reportProblems.none).toBeUndefined();

    const big = await new LocalExecutor({ workRoot, maxReportBytes: 1000 }).run(
      spec(['./big-report.sh'], { reportFiles: { big: 'big.json' } }),
    );
    expect(big.reports.big).toBeUndefined();
    expect(big.reportProblems.big).toMatch(/over the 1000-byte limit/);
  });

  it('answers 127 for a program that does not exist', async () => {
    const result = await executor().run(spec(['shipgate-no-such-program'], { checkout: undefined }));
    expect(result.exitCode).toBe(127);
    expect(result.logTail).toContain('ENOENT');
  });

  it('rejects report paths that leave the working directory', async () => {
    await expect(executor().run(spec(['true'], { reportFiles: { x: '../x.json' } }))).rejects.toMatchObject({
      code: 'SHIPGATE_E_EXECUTION_SPEC_INVALID',
    });
  });

  it('fails the checkout with a retryable error for an unknown sha', async () => {
    const err = await executor()
      .run(spec(['true'], { checkout: { cloneUrl: remote.fileUrl, sha: 'f'.repeat(40) } }))
      .catch((e: unknown) => e);
    expect(CheckoutFailed.is(err)).toBe(true);
    expect(ls(workRoot)).toEqual([]);
  });
});

describe('LocalExecutor over HTTPS-style auth (git http-backend on loopback)', () => {
  const token = `ghs_${'T0k3n'.repeat(6)}`;

  it('passes the token through GIT_ASKPASS only: never in argv, URL, config or the log', async () => {
    const server = await serveGitOverHttp(remote.bareDir, token);
    // Snapshot every process's argv while git is talking to the server.
    const argvSeen: string[] = [];
    const snapshot = () => {
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        try {
          argvSeen.push(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
        } catch {
          // exited meanwhile
        }
      }
    };
    const sampler = setInterval(snapshot, 2);
    try {
      const result = await new LocalExecutor({ workRoot }).run(
        spec(['sh', '-c', 'cat version.txt; cat .git/config; env'], {
          checkout: { cloneUrl: server.cloneUrl, sha: remote.shas[0]!, token: async () => token },
        }),
      );
      clearInterval(sampler);
      expect(result.exitCode).toBe(0);
      expect(result.logTail.startsWith('v1\n')).toBe(true);
      expect(result.logTail).not.toContain(token);
      const authed = server.requests.filter((r) => r.authorization !== undefined);
      expect(authed.length).toBeGreaterThan(0);
      expect(Buffer.from(authed[0]!.authorization!.slice(6), 'base64').toString()).toBe(
        `x-access-token:${token}`,
      );
      for (const r of server.requests) expect(r.url).not.toContain(token);
      expect(argvSeen.some((a) => a.includes('git'))).toBe(true);
      for (const argv of argvSeen) expect(argv).not.toContain(token);
    } finally {
      clearInterval(sampler);
      await server.close();
    }
    expect(ls(workRoot)).toEqual([]);
  });

  it('fails closed with a wrong token, without echoing it', async () => {
    const server = await serveGitOverHttp(remote.bareDir, token);
    try {
      const err = await new LocalExecutor({ workRoot })
        .run(
          spec(['true'], {
            checkout: {
              cloneUrl: server.cloneUrl,
              sha: remote.shas[0]!,
              token: async () => 'wrong-token-xyz',
            },
          }),
        )
        .catch((e: unknown) => e);
      expect(CheckoutFailed.is(err)).toBe(true);
      expect(String((err as Error).message)).not.toContain('wrong-token-xyz');
    } finally {
      await server.close();
    }
  });

  it('refuses a clone URL with credentials in it', async () => {
    const url = new URL(remote.fileUrl);
    await expect(
      new LocalExecutor({ workRoot }).run(
        spec(['true'], {
          checkout: { cloneUrl: `http://user:pw@127.0.0.1:1${url.pathname}`, sha: remote.shas[0]! },
        }),
      ),
    ).rejects.toMatchObject({ code: 'SHIPGATE_E_EXECUTION_SPEC_INVALID' });
  });
});
