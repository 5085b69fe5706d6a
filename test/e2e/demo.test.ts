import { execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { groupAlive, killGroup, spawnGroup } from '../support/process-group.js';

/**
 * `shipgate demo --yes` as CI runs it: the real CLI in its own process group, in an empty
 * folder, to the end. Then the env repo it left behind is read with git, and nothing it
 * started (embedded redis-server, gate sandboxes, git servers) may still be running.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const cwd = mkdtempSync(path.join(tmpdir(), 'shipgate-demo-'));
// As a clone's folder usually is: run as root, the sandboxed gates' unprivileged uid must be
// able to pass through it to reach their checkout (mkdtemp makes it 0700).
chmodSync(cwd, 0o755);
let child: ChildProcess | undefined;

afterAll(() => {
  killGroup(child);
  rmSync(cwd, { recursive: true, force: true });
});

function gitLog(bare: string, count: number): string[] {
  return execFileSync('git', ['log', `-${count}`, '--format=%B%x1e', 'main'], { cwd: bare, encoding: 'utf8' })
    .split('\x1e')
    .map((m) => m.trim())
    .filter(Boolean);
}

describe('shipgate demo --yes', () => {
  it(
    'plays every stage, leaves the releases and the revert in the env repo, and no process behind',
    { timeout: 600_000 },
    async () => {
      const proc = spawnGroup(
        path.join(ROOT, 'node_modules/.bin/tsx'),
        [path.join(ROOT, 'src/cli.ts'), 'demo', '--yes'],
        {
          cwd,
          env: process.env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      child = proc;
      let out = '';
      proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
      const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
      expect(code, out).toBe(0);

      for (const stage of [
        'start: simulators, repos and Shipgate',
        '1. a pull request and its checks',
        '2. release v1.0.0 to staging',
        '3. approval for production',
        '4. production',
        '5. release v1.1.0',
      ]) {
        expect(out, stage).toMatch(
          new RegExp(`^✓ ${stage.replace(/[.()]/g, '\\$&')}.* \\(\\d+\\.\\ds\\)`, 'm'),
        );
      }
      expect(out).not.toMatch(/^✗/m);
      expect(out).toContain('Every stage went as expected');

      // The env repo, as a newcomer would read it with git log.
      const bare = path.join(cwd, '.shipgate/demo/environments.git');
      const [revert, badProduction, ...older] = gitLog(bare, 8);
      expect(revert).toMatch(/^Reverts: [0-9a-f]{40}$/m);
      expect(badProduction).toContain('Image: ghcr.io/acme/web:v1.1.0');
      expect(badProduction).toMatch(/^Approved-by: U0APPROVER \(Slack U0APPROVER\) \d{4}-\d\d-\d\dT/m);
      const goodProduction = older.find(
        (m) => m.includes('Image: ghcr.io/acme/web:v1.0.0') && /production/.test(m),
      );
      expect(goodProduction).toMatch(/^Approved-by: U0APPROVER \(Slack U0APPROVER\)/m);
      expect(older.some((m) => m.includes('Image: ghcr.io/acme/web:v1.0.0') && /staging/.test(m))).toBe(true);
      const live = execFileSync('git', ['show', 'main:apps/web/production/rollout-web.yaml'], {
        cwd: bare,
        encoding: 'utf8',
      });
      expect(live).toContain('image: ghcr.io/acme/web:v1.0.0');

      // Nothing of the demo's process group is left (the embedded redis-server included).
      const deadline = Date.now() + 10_000;
      while (groupAlive(proc.pid!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(groupAlive(proc.pid!)).toBe(false);
    },
  );
});
