/**
 * Runs once before the suite: checks the tools the tests really use (no mocks) and stops the run
 * with one line per missing tool, naming it and how to install it. Without this a missing tool
 * shows up as dozens of unrelated failures.
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { TEST_REDIS_URL } from './redis.js';

export interface ToolCheck {
  tool: string;
  /** Resolves to undefined when present, else why not. */
  check(): string | undefined | Promise<string | undefined>;
  install: string;
}

function runs(command: string, args: string[]): boolean {
  const res = spawnSync(command, args, { stdio: 'ignore', timeout: 15_000 });
  return res.error === undefined && res.status === 0;
}

export const TOOL_CHECKS: readonly ToolCheck[] = [
  {
    tool: 'git',
    check: () => (runs('git', ['--version']) ? undefined : 'not on PATH'),
    install: 'apt-get install git (macOS: xcode-select --install)',
  },
  {
    tool: 'redis-server',
    check: () => (runs('redis-server', ['--version']) ? undefined : 'not on PATH'),
    install: 'apt-get install redis-server (macOS: brew install redis)',
  },
  {
    tool: 'kubectl or kustomize',
    check: () =>
      runs('kustomize', ['version']) || runs('kubectl', ['kustomize', '--help']) ? undefined : 'not on PATH',
    install: 'apt-get install kubernetes-client, or a kustomize binary from kubectl.docs.kubernetes.io',
  },
  {
    tool: 'promtool',
    check: () => (runs('promtool', ['--version']) ? undefined : 'not on PATH'),
    install: 'apt-get install prometheus (macOS: brew install prometheus)',
  },
  {
    tool: 'openssl',
    check: () => (runs('openssl', ['version']) ? undefined : 'not on PATH'),
    install: 'apt-get install openssl',
  },
  {
    tool: 'bwrap (the local executor sandbox)',
    // Present is not enough: containers often forbid the user namespaces it needs.
    check: () =>
      runs('bwrap', ['--ro-bind', '/', '/', '--unshare-all', '--die-with-parent', 'true'])
        ? undefined
        : 'missing, or cannot create a sandbox here',
    install: 'apt-get install bubblewrap (and allow unprivileged user namespaces)',
  },
  {
    tool: `Redis at ${TEST_REDIS_URL}`,
    async check() {
      const redis = new Redis(TEST_REDIS_URL, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 2000,
      });
      try {
        await redis.connect();
        return (await redis.ping()) === 'PONG' ? undefined : 'no PONG';
      } catch (err) {
        return (err as Error).message;
      } finally {
        redis.disconnect();
      }
    },
    install:
      'start one: redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" (or set TEST_REDIS_URL)',
  },
];

/** One line per missing tool; empty when everything is there. */
export async function missingTools(checks: readonly ToolCheck[] = TOOL_CHECKS): Promise<string[]> {
  const lines: string[] = [];
  for (const c of checks) {
    const problem = await c.check();
    if (problem !== undefined) lines.push(`missing ${c.tool} (${problem}): ${c.install}`);
  }
  return lines;
}

export default async function setup(): Promise<void> {
  const lines = await missingTools();
  if (lines.length > 0) {
    // A thrown error would print a stack; these lines are the whole message.
    process.stderr.write(
      `\nThe tests use real tools, and some are missing:\n${lines.map((l) => `  ${l}`).join('\n')}\n\n`,
    );
    process.exit(1);
  }
}
