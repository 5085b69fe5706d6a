import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionSpec } from '../../../src/executors/executor.js';
import { LocalExecutor } from '../../../src/executors/local-executor.js';
import { createSecretMasker } from '../../../src/masking/secret-masker.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../../src/redis/embedded-redis.js';

/**
 * Gate commands written by an attacker, run through the sandboxed local executor as Shipgate
 * runs them. This test process plays Shipgate: it holds secrets in its environment, a key file,
 * an embedded Redis with a password, and an HTTP API with a bearer token.
 */

const WEBHOOK_SECRET = 'whsec-hostile-test-0123456789abcdef';
const API_TOKEN = 'api-token-hostile-test-0123456789';
const KEY_PEM = `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7hostile\n-----END PRIVATE KEY-----\n`;

let base: string;
let keyFile: string;
let redis: EmbeddedRedis;
let api: Server;
let apiPort: number;
let apiHits = 0;

beforeAll(async () => {
  process.env.SHIPGATE_TEST_WEBHOOK_SECRET = WEBHOOK_SECRET;
  base = mkdtempSync(path.join(tmpdir(), 'shipgate-hostile-'));
  // The operator's folder above the data dir lets others pass through (o+x), not list it.
  chmodSync(base, 0o711);
  keyFile = path.join(base, 'app-key.pem');
  writeFileSync(keyFile, KEY_PEM, { mode: 0o600 });
  redis = await startEmbeddedRedis({ dataDir: path.join(base, 'data'), appendOnly: false });
  api = createServer((req, res) => {
    apiHits++;
    res.statusCode = req.headers.authorization === `Bearer ${API_TOKEN}` ? 200 : 401;
    res.end(res.statusCode === 200 ? 'secret-api-answer' : 'unauthorized');
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  apiPort = (api.address() as AddressInfo).port;
});

afterAll(async () => {
  delete process.env.SHIPGATE_TEST_WEBHOOK_SECRET;
  await redis.stop();
  await new Promise((r) => api.close(r));
  rmSync(base, { recursive: true, force: true });
});

const secrets = () => [WEBHOOK_SECRET, API_TOKEN, KEY_PEM, new URL(redis.url).password];

function executor(
  network: 'none' | 'egress',
  extra: Partial<ConstructorParameters<typeof LocalExecutor>[0]> = {},
) {
  const workRoot = path.join(base, 'data', 'executions');
  return new LocalExecutor({
    workRoot,
    network,
    killGraceMs: 300,
    hiddenPaths: [keyFile, path.join(base, 'data')],
    masker: createSecretMasker(secrets()),
    ...extra,
  });
}

function spec(script: string, timeoutSeconds = 20): ExecutionSpec {
  return {
    runId: 'hostile',
    gate: 'tests',
    attemptKey: 'hostile:tests',
    image: 'ignored',
    command: ['sh', '-c', script],
    env: {},
    timeoutSeconds,
    reportFiles: {},
  };
}

function expectNoSecret(text: string): void {
  for (const secret of secrets()) expect(text).not.toContain(secret);
  expect(text).not.toContain('BEGIN PRIVATE KEY');
  expect(text).not.toContain('MIIEvQIBADAN');
}

describe.each(['none', 'egress'] as const)('a hostile gate with network %s', (network) => {
  it("cannot read any process environment or Shipgate's command line", async () => {
    const result = await executor(network).run(
      spec(
        `for f in /proc/*/environ; do echo "== $f"; tr '\\0' '\\n' < "$f"; done; ` +
          `echo "== cmdline"; cat /proc/${process.pid}/cmdline || echo "no shipgate cmdline"; ` +
          `cat /proc/${process.ppid}/environ || echo "no parent environ"; echo "processes=$(ls /proc | grep -c '^[0-9]')"`,
      ),
    );
    expectNoSecret(result.logTail);
    expect(result.logTail).not.toContain('SHIPGATE_TEST_WEBHOOK_SECRET');
    expect(result.logTail).not.toContain('vitest');
    // Only the sandbox's own few processes exist in its PID namespace.
    // Read by its label: stdout and stderr come through separate pipes, so the refusals printed
    // on stderr may land after it.
    const count = Number(/processes=(\d+)/.exec(result.logTail)?.[1]);
    expect(count, result.logTail.slice(-500)).toBeLessThan(10);
  });

  it('cannot read the key file or the data dir', async () => {
    const result = await executor(network).run(
      spec(
        `cat ${keyFile}; ls -la ${base} ${path.join(base, 'data')} ${path.join(base, 'data', 'redis')}; cat ${path.join(base, 'data', 'redis', 'shipgate-redis.url')}; echo done`,
      ),
    );
    expect(result.logTail).toMatch(/No such file or directory/);
    expectNoSecret(result.logTail);
    expect(result.logTail).not.toContain('redis://');
  });

  it('cannot use the Redis Shipgate uses', async () => {
    const result = await executor(network).run(
      spec(
        `redis-cli -h 127.0.0.1 -p ${redis.port} --no-auth-warning SET pwned 1; redis-cli -h 127.0.0.1 -p ${redis.port} KEYS '*'; echo done`,
      ),
    );
    expect(result.logTail).toMatch(network === 'none' ? /Connection refused/ : /NOAUTH/);
    expectNoSecret(result.logTail);
    const check = await executor(network).run(spec('true'));
    expect(check.exitCode).toBe(0);
  });

  it("cannot use Shipgate's HTTP API", async () => {
    const hitsBefore = apiHits;
    const result = await executor(network).run(
      spec(
        `node -e "fetch('http://127.0.0.1:${apiPort}/api/runs').then(async r => console.log('status', r.status, await r.text()), e => console.log('refused', e.cause && e.cause.code))"`,
      ),
    );
    expect(result.logTail).not.toContain('secret-api-answer');
    if (network === 'none') {
      expect(result.logTail).toMatch(/refused ECONNREFUSED/);
      expect(apiHits).toBe(hitsBefore);
    } else {
      // With egress the port answers, but without the token (the gate never sees it): 401.
      expect(result.logTail).toMatch(/status 401/);
    }
  });

  it('cannot write outside the checkout', async () => {
    const result = await executor(network).run(
      spec(
        `for p in /usr/bin/pwned /etc/pwned ${base}/pwned /pwned ${path.join(base, 'data')}/pwned /workspace/../pwned; do ` +
          `(echo x > "$p") 2>/dev/null && echo "WROTE $p" || echo "refused $p"; done; echo x > ./ok && echo wrote-checkout`,
      ),
    );
    expect(result.logTail).not.toContain('WROTE');
    expect(result.logTail).toContain('wrote-checkout');
    expect(existsSync(path.join(base, 'pwned'))).toBe(false);
    expect(readdirSync(base).sort()).toEqual(['app-key.pem', 'data']);
  });

  it("cannot signal Shipgate's processes", async () => {
    const result = await executor(network).run(
      spec(
        `kill -9 ${process.pid} && echo KILLED-SHIPGATE; kill -9 ${redis.pid} && echo KILLED-REDIS; kill -9 -1; echo done`,
      ),
    );
    expect(result.logTail).not.toContain('KILLED');
    expect(() => process.kill(redis.pid!, 0)).not.toThrow();
  });

  it('masks token-shaped strings and known secrets the gate prints', async () => {
    const result = await executor(network).run(
      spec(
        `echo ghp_${'a'.repeat(36)}; echo ghs_${'b'.repeat(36)}; echo github_pat_${'c'.repeat(40)}; ` +
          `echo xoxb-123456789-abcdefgh; echo xoxp-123456789-abcdefgh; echo '${WEBHOOK_SECRET}'; printf '%s' '${KEY_PEM}'`,
      ),
    );
    expect(result.logTail).not.toMatch(/ghp_a|ghs_b|github_pat_c|xoxb-1|xoxp-1/);
    expectNoSecret(result.logTail);
    expect(result.logTail.match(/\[masked\]/g)?.length).toBeGreaterThanOrEqual(7);
  });
});

describe('a fork bomb', () => {
  it('is capped and fails within its timeout, leaving nothing behind', async () => {
    const began = Date.now();
    const result = await executor('none', { maxProcesses: 64 }).run(spec('b() { b | b & }; b; sleep 30', 3));
    // At the cap a fork is refused. Bash retries a refused fork for a while, so the gate ends
    // either at its timeout or, on a loaded machine, when the shell gives up on `sleep`'s fork
    // first: a failure both ways, never a pass.
    expect(
      result.timedOut || result.exitCode !== 0,
      `exit ${result.exitCode}: ${result.logTail.slice(-300)}`,
    ).toBe(true);
    expect(result.exitCode).not.toBe(0);
    expect(Date.now() - began).toBeLessThan(20_000);
    // Shipgate is still here and answers: the bomb stayed inside its cap and its namespace.
    const after = await executor('none').run(spec('echo alive'));
    expect(after.logTail).toContain('alive');
  });
});

describe('without a sandbox', () => {
  it('local-unsandboxed warns in every result', async () => {
    const result = await executor('none', { isolation: 'unsandboxed' }).run(spec('echo hi'));
    expect(result.logTail.split('\n')[0]).toMatch(/WITHOUT a sandbox.*local-unsandboxed/);
  });
});
