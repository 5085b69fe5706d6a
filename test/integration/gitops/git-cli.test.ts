import { createServer, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitCommandFailed, GitTimeout } from '../../../src/errors.js';
import { GitCli } from '../../../src/git/git-cli.js';

describe('GitCli', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'shipgate-git-cli-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('kills a command that outlives its timeout (a server that never answers)', async () => {
    const sockets: Socket[] = [];
    const server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const started = Date.now();
      const err = await new GitCli({ timeoutMs: 400 })
        .run(['ls-remote', `http://127.0.0.1:${port}/env.git`], { cwd: dir })
        .catch((e: unknown) => e);
      expect(GitTimeout.is(err)).toBe(true);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('bounds output, and never prompts for credentials', async () => {
    const git = new GitCli({ maxOutputBytes: 1024 });
    await git.run(['init', '--quiet', '--bare', 'r.git'], { cwd: dir });
    const repo = path.join(dir, 'r.git');
    const oid = (
      await git.run(['hash-object', '-w', '--stdin'], { cwd: repo, input: 'x'.repeat(100_000) })
    ).stdout.trim();
    const err = await git.run(['cat-file', 'blob', oid], { cwd: repo }).catch((e: unknown) => e);
    expect(GitCommandFailed.is(err)).toBe(true);
    expect(String((err as Error).message)).toMatch(/output exceeded 1024 bytes/);
    // Arguments are argv, never a shell: metacharacters are just bytes.
    const echo = await git.run(['hash-object', '--stdin'], { cwd: repo, input: '$(touch pwned); `id`' });
    expect(echo.stdout.trim()).toMatch(/^[0-9a-f]{40}$/);
  });
});
