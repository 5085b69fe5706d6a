import { generateKeyPairSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  GithubAuthFailed,
  GithubFileTooLarge,
  GithubFileUnreadable,
  GithubRateLimited,
  GithubRequestRejected,
  GithubUnavailable,
  type ShipgateError,
} from '../../../src/errors.js';
import {
  completeCheckRun,
  createGithubApp,
  ensureCheckRun,
  ensureDeployment,
  getCheckRun,
  getPullRequestState,
  openPullRequest,
  readRepoFile,
  setDeploymentStatus,
  startCheckRun,
  type CheckAnnotation,
  type GithubApp,
  type GithubAppOptions,
} from '../../../src/github/index.js';
import { createLogger } from '../../../src/logger.js';
import { createSecretMasker } from '../../../src/masking/secret-masker.js';
import {
  startGithubStandIn,
  type GithubStandIn,
  type StandInInstallation,
} from '../../../sandbox/github-stand-in.js';

const APP_ID = 4711;
const SHA = 'ec26c3e57ca3a959ca5aad62de7213c562f8c821';
const OWNER = 'octo-org';
const REPO = 'app';

let keys: { privateKey: string; publicKey: string };
let otherPrivateKey: string;

beforeAll(() => {
  // PKCS#1, the format GitHub hands out when you generate an App key.
  const gen = () =>
    generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
  keys = gen();
  otherPrivateKey = gen().privateKey;
});

interface Harness {
  standIn: GithubStandIn;
  app: GithubApp;
  logs: string[];
}

const open: GithubStandIn[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function harness(
  overrides: Partial<GithubAppOptions> = {},
  installations?: StandInInstallation[],
): Promise<Harness> {
  const standIn = await startGithubStandIn({
    appId: APP_ID,
    publicKeyPem: keys.publicKey,
    ...(installations ? { installations } : {}),
  });
  open.push(standIn);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const app = createGithubApp({
    appId: APP_ID,
    privateKey: keys.privateKey,
    apiUrl: standIn.url,
    logger: createLogger('debug', sink),
    retryAfterBaseMs: 5,
    spaceWrites: false,
    requestTimeoutMs: 2_000,
    ...overrides,
  });
  return { standIn, app, logs };
}

async function caught(promise: Promise<unknown>): Promise<ShipgateError> {
  try {
    await promise;
  } catch (err) {
    return err as ShipgateError;
  }
  throw new Error('expected a rejection');
}

const count = (standIn: GithubStandIn, method: string, path: RegExp) =>
  standIn.requests.filter((r) => r.method === method && path.test(r.path.split('?')[0] ?? '')).length;

describe('installation tokens', () => {
  it('mints once per installation, caches, and issues repository-scoped tokens for git', async () => {
    const { standIn, app, logs } = await harness();
    const octokit = await app.forInstallation(1);
    await octokit.request('GET /repos/{owner}/{repo}', { owner: OWNER, repo: REPO });
    await octokit.request('GET /repos/{owner}/{repo}', { owner: OWNER, repo: REPO });
    const again = await app.forInstallation(1);
    await again.request('GET /repos/{owner}/{repo}', { owner: OWNER, repo: REPO });
    expect(count(standIn, 'POST', /\/access_tokens$/)).toBe(1);
    expect(standIn.tokensIssued).toBe(1);
    // The JWT went out as a bearer token and the installation token as `token`.
    const mint = standIn.requests.find((r) => r.path.endsWith('/access_tokens'));
    expect(mint?.headers.authorization).toBe('bearer [redacted]');
    expect(standIn.requests.at(-1)?.headers.authorization).toBe('token [redacted]');
    expect(standIn.requests.at(-1)?.headers['user-agent']).toMatch(/^shipgate /);

    const scoped = await app.getInstallationToken(1, { repositories: [REPO] });
    expect(scoped.token).toMatch(/^ghs_/);
    expect(Date.parse(scoped.expiresAt)).toBeGreaterThan(Date.now() + 50 * 60_000);
    expect(standIn.isTokenValidFor(scoped.token, OWNER, REPO)).toBe(true);
    expect(standIn.isTokenValidFor(scoped.token, OWNER, 'other')).toBe(false);
    const cached = await app.getInstallationToken(1, { repositories: [REPO] });
    expect(cached.token).toBe(scoped.token);
    expect(standIn.tokensIssued).toBe(2);

    expect(await app.findRepoInstallation(OWNER, REPO)).toBe(1);
    expect(logs.join('')).not.toContain(scoped.token);
    expect(logs.join('')).not.toMatch(/ghs_|eyJ/);
  });

  it('maps a 401 (wrong private key) to a non-retryable error without the JWT in it or in the logs', async () => {
    const { standIn, app, logs } = await harness({ privateKey: otherPrivateKey });
    const octokit = await app.forInstallation(1);
    const err = await caught(startCheckRun(octokit, { owner: OWNER, repo: REPO, checkRunId: 1 }));
    expect(GithubAuthFailed.is(err)).toBe(true);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('A JSON web token could not be decoded');
    expect(err.message).not.toMatch(/eyJ|bearer \S{20}/i);
    expect(JSON.stringify(err.details)).not.toMatch(/eyJ/);
    expect(err.cause).toBeUndefined();
    expect(logs.join('')).not.toMatch(/eyJ|ghs_/);
    // Not retried: a 401 cannot heal by itself.
    expect(count(standIn, 'POST', /\/access_tokens$/)).toBe(1);

    const tokenErr = await caught(app.getInstallationToken(1));
    expect(GithubAuthFailed.is(tokenErr)).toBe(true);
  });

  it('refuses a JWT issued for another App id', async () => {
    const { app } = await harness({ appId: 999 });
    const err = await caught(app.getInstallationToken(1));
    expect(GithubAuthFailed.is(err)).toBe(true);
    expect(err.message).toContain('Integration not found');
  });

  it('refuses unauthenticated repository requests with 401, as GitHub does', async () => {
    const { standIn } = await harness();
    const res = await fetch(`${standIn.url}/repos/${OWNER}/${REPO}/check-runs/1`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { message: string }).message).toBe('Bad credentials');
    const forged = await fetch(`${standIn.url}/repos/${OWNER}/${REPO}`, {
      headers: { authorization: 'token ghs_notissuedbythestandin000000000000' },
    });
    expect(forged.status).toBe(401);
  });
});

describe('check runs', () => {
  it('masks known secrets and token shapes in the output and annotations GitHub receives', async () => {
    const secret = 'the-webhook-secret-of-this-test';
    const { standIn, app } = await harness({ outgoingTextMasker: createSecretMasker([secret]) });
    const octokit = await app.forInstallation(1);
    const { id } = await ensureCheckRun(octokit, {
      owner: OWNER,
      repo: REPO,
      name: 'shipgate/tests',
      headSha: SHA,
      externalId: 'run-mask',
    });
    const token = `ghs_${'A'.repeat(36)}`;
    await completeCheckRun(octokit, {
      owner: OWNER,
      repo: REPO,
      checkRunId: id,
      conclusion: 'failure',
      title: `leaked ${secret}`,
      summary: `clone of https://x-access-token:${token}@github.com/acme/web failed`,
      text: `env: SECRET=${secret}\nSLACK=xoxb-1234567890-abcdefghij`,
      annotations: [
        { path: 'a.ts', start_line: 1, end_line: 1, annotation_level: 'failure', message: `saw ${token}` },
      ],
    });
    const sent = JSON.stringify(standIn.requests.map((r) => r.body));
    expect(sent).not.toContain(secret);
    expect(sent).not.toContain(token);
    expect(sent).not.toContain('xoxb-1234567890');
    const [stored] = standIn.checkRuns(OWNER, REPO);
    expect(stored?.output).toMatchObject({
      title: 'leaked [masked]',
      summary: 'clone of https://x-access-token:[masked]@github.com/acme/web failed',
    });
    expect(stored?.annotations.map((a) => a.message)).toEqual(['saw [masked]']);
  });

  it('ensureCheckRun is idempotent and sends the delivery id for correlation', async () => {
    const { standIn, app } = await harness();
    const octokit = await app.forInstallation(1);
    const target = { owner: OWNER, repo: REPO, name: 'shipgate/tests', headSha: SHA, externalId: 'run-1' };
    const first = await ensureCheckRun(octokit, { ...target, deliveryId: 'delivery-123' });
    const second = await ensureCheckRun(octokit, target);
    expect(first.created).toBe(true);
    // Both carry the check run's own page (html_url), found or created.
    expect(first.htmlUrl).toMatch(new RegExp(`/runs/${first.id}$`));
    expect(second).toEqual({ id: first.id, created: false, htmlUrl: first.htmlUrl });
    // Another run's check of the same name on the same sha is a different check run.
    const other = await ensureCheckRun(octokit, { ...target, externalId: 'run-2' });
    expect(other.id).not.toBe(first.id);

    const runs = standIn.checkRuns(OWNER, REPO);
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatchObject({
      name: 'shipgate/tests',
      status: 'queued',
      external_id: 'run-1',
      head_sha: SHA,
    });
    const create = standIn.requests.find((r) => r.method === 'POST' && r.path.endsWith('/check-runs'));
    expect(create?.headers['x-github-delivery']).toBe('delivery-123');

    await startCheckRun(octokit, { owner: OWNER, repo: REPO, checkRunId: first.id });
    expect((await getCheckRun(octokit, { owner: OWNER, repo: REPO, checkRunId: first.id })).status).toBe(
      'in_progress',
    );
  });

  it('a 502 then 200 on create is retried and makes exactly one check run', async () => {
    const { standIn, app } = await harness();
    const octokit = await app.forInstallation(1);
    standIn.failNext({ method: 'POST', path: /\/check-runs$/, status: 502 });
    const result = await ensureCheckRun(octokit, {
      owner: OWNER,
      repo: REPO,
      name: 'shipgate/trivy',
      headSha: SHA,
      externalId: 'run-1',
    });
    expect(result.created).toBe(true);
    expect(standIn.checkRuns(OWNER, REPO)).toHaveLength(1);
    expect(count(standIn, 'POST', /\/check-runs$/)).toBe(2);
  });

  it('a 502 that arrives after GitHub created the check run does not make a second one', async () => {
    const { standIn, app } = await harness();
    const octokit = await app.forInstallation(1);
    standIn.failNext({ method: 'POST', path: /\/check-runs$/, status: 502, afterHandling: true });
    const result = await ensureCheckRun(octokit, {
      owner: OWNER,
      repo: REPO,
      name: 'shipgate/trivy',
      headSha: SHA,
      externalId: 'run-1',
    });
    expect(standIn.checkRuns(OWNER, REPO)).toHaveLength(1);
    expect(result.id).toBe(standIn.checkRuns(OWNER, REPO)[0]?.id);
    expect(count(standIn, 'POST', /\/check-runs$/)).toBe(1);
  });

  it('120 annotations go out in 3 PATCHes of at most 50, all stored; long output is truncated', async () => {
    const { standIn, app } = await harness();
    const octokit = await app.forInstallation(1);
    const { id } = await ensureCheckRun(octokit, {
      owner: OWNER,
      repo: REPO,
      name: 'shipgate/tests',
      headSha: SHA,
      externalId: 'run-1',
    });
    const annotations: CheckAnnotation[] = Array.from({ length: 120 }, (_, i) => ({
      path: `src/file-${i}.ts`,
      start_line: i + 1,
      end_line: i + 1,
      annotation_level: i % 2 ? 'warning' : 'failure',
      message: `problem ${i}`,
      title: `T${i}`,
    }));
    const result = await completeCheckRun(octokit, {
      owner: OWNER,
      repo: REPO,
      checkRunId: id,
      conclusion: 'failure',
      title: '3 tests failed',
      summary: 'x'.repeat(70_000),
      text: '😀'.repeat(40_000),
      annotations,
    });
    expect(result).toEqual({ annotationsAttached: 120, annotationsDropped: 0, requests: 3 });
    const patches = standIn.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(3);
    const batchSizes = patches.map(
      (p) => (p.body as { output: { annotations: unknown[] } }).output.annotations.length,
    );
    expect(batchSizes).toEqual([50, 50, 20]);
    // Later batches repeat the same output, as GitHub requires title and summary with annotations.
    for (const p of patches)
      expect((p.body as { output: { title: string } }).output.title).toBe('3 tests failed');

    const [stored] = standIn.checkRuns(OWNER, REPO);
    expect(stored?.annotations.map((a) => a.message)).toEqual(annotations.map((a) => a.message));
    expect(stored).toMatchObject({ status: 'completed', conclusion: 'failure' });
    const output = stored?.output as { summary: string; text: string; annotations_count: number };
    expect(output.annotations_count).toBe(120);
    expect(output.summary.length).toBeLessThanOrEqual(65_535);
    expect(output.summary).toContain('truncated');
    expect([...output.text].length).toBeLessThanOrEqual(65_535);
    expect(output.text).not.toMatch(/[\ud800-\udbff]$/);
  });

  it('a completion retried after a half-applied annotation batch resumes without duplicates', async () => {
    const { standIn, app } = await harness();
    const octokit = await app.forInstallation(1);
    const { id } = await ensureCheckRun(octokit, {
      owner: OWNER,
      repo: REPO,
      name: 'shipgate/tests',
      headSha: SHA,
      externalId: 'run-1',
    });
    const annotations: CheckAnnotation[] = Array.from({ length: 120 }, (_, i) => ({
      path: 'test/a.test.ts',
      start_line: i + 1,
      end_line: i + 1,
      annotation_level: 'failure',
      message: `m${i}`,
    }));
    // The second batch is stored, then the answer is lost.
    standIn.failNext({ method: 'PATCH', path: /\/check-runs\/\d+$/, status: 502 });
    standIn.failNext({ method: 'PATCH', path: /\/check-runs\/\d+$/, status: 504, afterHandling: true });
    const completion = {
      owner: OWNER,
      repo: REPO,
      checkRunId: id,
      conclusion: 'failure' as const,
      title: 'failed',
      summary: 's',
      annotations,
    };
    await completeCheckRun(octokit, completion);
    // And the whole job runs again, as a retried BullMQ job would.
    await completeCheckRun(octokit, completion);
    const stored = standIn.checkRuns(OWNER, REPO)[0];
    expect(stored?.annotations.map((a) => a.message)).toEqual(annotations.map((a) => a.message));
  });

  it('by default lets a burst of writes through, then keeps a second between them', async () => {
    const { standIn, app } = await harness({ spaceWrites: true, writeBurst: 2 });
    const octokit = await app.forInstallation(1);
    const burstStarted = Date.now();
    const { id } = await ensureCheckRun(octokit, {
      owner: OWNER,
      repo: REPO,
      name: 'shipgate/tests',
      headSha: SHA,
      externalId: 'run-1',
    });
    await startCheckRun(octokit, { owner: OWNER, repo: REPO, checkRunId: id });
    // The burst (one POST, one PATCH) is not held back.
    expect(Date.now() - burstStarted).toBeLessThan(800);
    const started = Date.now();
    for (let i = 0; i < 3; i += 1) await startCheckRun(octokit, { owner: OWNER, repo: REPO, checkRunId: id });
    // Three more writes need three refills, one a second: at least two full intervals.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(count(standIn, 'PATCH', /\/check-runs\/\d+$/)).toBe(4);
  });

  it('keeps one write budget per installation: a busy installation does not hold back another', async () => {
    const { standIn, app } = await harness({ spaceWrites: true, writeBurst: 2 }, [
      { id: 1, account: '*' },
      { id: 2, account: '*' },
    ]);
    const [busy, quiet] = [await app.forInstallation(1), await app.forInstallation(2)];
    const target = { owner: OWNER, repo: REPO, name: 'shipgate/tests', headSha: SHA };
    const { id } = await ensureCheckRun(busy, { ...target, externalId: 'run-1' });
    await startCheckRun(busy, { owner: OWNER, repo: REPO, checkRunId: id });
    // Installation 1 has spent its burst: its next two writes wait for refills.
    const paced = (async () => {
      for (let i = 0; i < 2; i += 1) await startCheckRun(busy, { owner: OWNER, repo: REPO, checkRunId: id });
    })();
    const started = Date.now();
    const other = await ensureCheckRun(quiet, { ...target, externalId: 'run-2' });
    await startCheckRun(quiet, { owner: OWNER, repo: REPO, checkRunId: other.id });
    expect(Date.now() - started).toBeLessThan(800);
    await paced;
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(count(standIn, 'PATCH', /\/check-runs\/\d+$/)).toBe(4);
  });

  it('refuses invalid annotations before calling GitHub', async () => {
    const { standIn, app } = await harness();
    const octokit = await app.forInstallation(1);
    const before = standIn.requests.length;
    const err = await caught(
      completeCheckRun(octokit, {
        owner: OWNER,
        repo: REPO,
        checkRunId: 1,
        conclusion: 'failure',
        title: 't',
        summary: 's',
        annotations: [{ path: 'a', start_line: 3, end_line: 2, annotation_level: 'failure', message: 'm' }],
      }),
    );
    expect(err.code).toBe('SHIPGATE_E_GITHUB_INVALID_INPUT');
    expect(err.message).toContain('end_line is before start_line');
    expect(standIn.requests.length).toBe(before);
  });
});

describe('deployments', () => {
  it('ensureDeployment is idempotent per run, and statuses go in order without duplicates', async () => {
    const { standIn, app } = await harness();
    const octokit = await app.forInstallation(1);
    const target = {
      owner: OWNER,
      repo: REPO,
      ref: SHA,
      environment: 'staging',
      runId: 'run-1',
      description: 'v1.2.3 to staging',
    };
    const first = await ensureDeployment(octokit, target);
    const again = await ensureDeployment(octokit, target);
    expect(first.created).toBe(true);
    expect(again).toEqual({ id: first.id, created: false });
    const [deployment] = standIn.deployments(OWNER, REPO);
    expect(deployment).toMatchObject({
      sha: SHA,
      environment: 'staging',
      payload: { shipgate_run: 'run-1' },
      transient_environment: false,
      production_environment: false,
    });
    const create = standIn.requests.find((r) => r.method === 'POST' && r.path.endsWith('/deployments'));
    expect(create?.body).toMatchObject({ auto_merge: false, required_contexts: [] });

    const status = (state: 'in_progress' | 'success', description: string) =>
      setDeploymentStatus(octokit, {
        owner: OWNER,
        repo: REPO,
        deploymentId: first.id,
        state,
        description,
        logUrl: 'https://shipgate.example/runs/run-1',
        environmentUrl: 'https://staging.example',
      });
    expect((await status('in_progress', 'syncing')).created).toBe(true);
    expect((await status('success', 'live')).created).toBe(true);
    expect((await status('success', 'live')).created).toBe(false);
    const states = standIn.deploymentStatuses(first.id).map((s) => s.state);
    expect(states).toEqual(['success', 'in_progress']);
    expect(standIn.deploymentStatuses(first.id)[0]).toMatchObject({
      log_url: 'https://shipgate.example/runs/run-1',
      environment_url: 'https://staging.example',
    });

    // A later successful deployment to the same environment retires the earlier one.
    const second = await ensureDeployment(octokit, { ...target, runId: 'run-2' });
    await setDeploymentStatus(octokit, {
      owner: OWNER,
      repo: REPO,
      deploymentId: second.id,
      state: 'success',
      description: 'live',
    });
    expect(standIn.deploymentStatuses(first.id)[0]?.state).toBe('inactive');
    expect(standIn.deployments(OWNER, REPO)).toHaveLength(2);
  });
});

describe('contents', () => {
  it('reads base64 and raw (> 1 MB) files, returns null on 404, refuses oversize and directories', async () => {
    const { standIn, app } = await harness();
    const octokit = await app.forInstallation(1);
    const yaml = 'version: 1\napp: demo # ünïcödé\n';
    standIn.setFile(OWNER, REPO, SHA, '.shipgate.yml', yaml);
    const big = 'a: 1\n'.repeat(300_000); // 1.5 MB
    standIn.setFile(OWNER, REPO, SHA, 'deploy/big.yaml', big);

    const read = (path: string, maxBytes = 2_000_000) =>
      readRepoFile(octokit, { owner: OWNER, repo: REPO, path, ref: SHA, maxBytes });
    expect(await read('.shipgate.yml')).toBe(yaml);
    expect(await read('missing.yml')).toBeNull();
    expect(
      await readRepoFile(octokit, {
        owner: OWNER,
        repo: REPO,
        path: '.shipgate.yml',
        ref: 'other',
        maxBytes: 100,
      }),
    ).toBeNull();
    expect(await read('deploy/big.yaml')).toBe(big);
    const rawRequest = standIn.requests.filter((r) => r.path.includes('/contents/')).at(-1);
    expect(rawRequest?.headers.accept).toMatch(/raw/);

    const tooLarge = await caught(read('deploy/big.yaml', 1_000_000));
    expect(GithubFileTooLarge.is(tooLarge)).toBe(true);
    expect(tooLarge.retryable).toBe(false);
    const small = await caught(read('.shipgate.yml', 10));
    expect(GithubFileTooLarge.is(small)).toBe(true);
    const dir = await caught(read('deploy'));
    expect(GithubFileUnreadable.is(dir)).toBe(true);
  });
});

describe('pull requests (env-repo PR mode)', () => {
  it('opens one PR per head branch, reuses it, and reports the merge', async () => {
    const { standIn, app } = await harness();
    const octokit = await app.forInstallation(1);
    const target = {
      owner: OWNER,
      repo: 'env',
      head: 'shipgate/run-1/production',
      base: 'main',
      title: 'Deploy demo v1.2.3 to production',
      body: 'Shipgate-Run: run-1',
    };
    const first = await openPullRequest(octokit, target);
    const second = await openPullRequest(octokit, target);
    expect(first.created).toBe(true);
    expect(second).toEqual({ ...first, created: false });
    expect(standIn.pullRequests(OWNER, 'env')).toHaveLength(1);

    const read = () => getPullRequestState(octokit, { owner: OWNER, repo: 'env', number: first.number });
    expect(await read()).toEqual({ state: 'open', merged: false, mergeCommitSha: null });
    standIn.mergePullRequest(first.number, { mergeCommitSha: 'a'.repeat(40) });
    expect(await read()).toEqual({ state: 'closed', merged: true, mergeCommitSha: 'a'.repeat(40) });

    // After the merge a new run's branch gets a new PR.
    const next = await openPullRequest(octokit, { ...target, head: 'shipgate/run-2/production' });
    expect(next.number).not.toBe(first.number);
  });
});

describe('failures', () => {
  it('a hanging request times out, is retried, and succeeds on the next attempt', async () => {
    const { standIn, app } = await harness({ requestTimeoutMs: 300 });
    const octokit = await app.forInstallation(1);
    await octokit.request('GET /repos/{owner}/{repo}', { owner: OWNER, repo: REPO });
    standIn.failNext({ method: 'GET', path: /^\/repos\/[^/]+\/[^/]+$/, hang: true });
    const started = Date.now();
    const { data } = await octokit.request('GET /repos/{owner}/{repo}', { owner: OWNER, repo: REPO });
    expect(data.full_name).toBe(`${OWNER}/${REPO}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('a route that keeps hanging ends in a retryable "unavailable" error', async () => {
    const { standIn, app } = await harness({ requestTimeoutMs: 200, retries: 1 });
    const octokit = await app.forInstallation(1);
    standIn.failNext({ method: 'GET', path: /\/check-runs\/\d+$/, hang: true, times: 5 });
    const err = await caught(getCheckRun(octokit, { owner: OWNER, repo: REPO, checkRunId: 1 }));
    expect(GithubUnavailable.is(err)).toBe(true);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('timed out after 200 ms');
    expect(count(standIn, 'GET', /\/check-runs\/\d+$/)).toBe(2);
  });

  it('persistent 5xx is retried a bounded number of times, then retryable', async () => {
    const { standIn, app } = await harness({ retries: 2 });
    const octokit = await app.forInstallation(1);
    standIn.failNext({ method: 'GET', path: /\/pulls\/\d+$/, status: 503, times: 10 });
    const err = await caught(getPullRequestState(octokit, { owner: OWNER, repo: REPO, number: 1 }));
    expect(GithubUnavailable.is(err)).toBe(true);
    expect(count(standIn, 'GET', /\/pulls\/\d+$/)).toBe(3);
  });

  it('retries a transient answer unless the call opts out, and stops at once when its signal aborts', async () => {
    const { standIn, app } = await harness({ retries: 3, retryAfterBaseMs: 50 });
    const octokit = await app.forInstallation(1);
    const route = 'GET /repos/{owner}/{repo}/tags' as const;
    const params = { owner: OWNER, repo: REPO };

    standIn.failNext({ method: 'GET', path: /\/tags$/, status: 503, times: 1 });
    expect((await octokit.request(route, params)).status).toBe(200);
    expect(count(standIn, 'GET', /\/tags$/)).toBe(2);

    standIn.failNext({ method: 'GET', path: /\/tags$/, status: 503, times: 1 });
    await expect(octokit.request(route, { ...params, request: { retries: 0 } })).rejects.toMatchObject({
      status: 503,
    });
    expect(count(standIn, 'GET', /\/tags$/)).toBe(3);

    // A caller that gives up during the back-off gets its own reason, and no further attempt.
    standIn.failNext({ method: 'GET', path: /\/tags$/, status: 503, times: 10 });
    const controller = new AbortController();
    const pending = octokit.request(route, { ...params, request: { signal: controller.signal } });
    setTimeout(() => controller.abort(new Error('run cancelled')), 20);
    await expect(pending).rejects.toThrow('run cancelled');
    await new Promise((r) => setTimeout(r, 300));
    expect(count(standIn, 'GET', /\/tags$/)).toBe(4);
  });

  it('waits out a secondary rate limit a bounded number of times', async () => {
    const { standIn, app } = await harness({ maxRateLimitRetries: 1 });
    const octokit = await app.forInstallation(1);
    const limited = {
      method: 'GET',
      path: /^\/repos\/[^/]+\/[^/]+$/,
      status: 403,
      headers: { 'retry-after': '1' },
      body: {
        message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      },
    };
    standIn.failNext(limited);
    await octokit.request('GET /repos/{owner}/{repo}', { owner: OWNER, repo: REPO });
    expect(count(standIn, 'GET', /^\/repos\/[^/]+\/[^/]+$/)).toBe(2);

    standIn.failNext({ ...limited, path: /\/contents\//, times: 5 });
    const mapped = await caught(
      readRepoFile(octokit, { owner: OWNER, repo: REPO, path: 'x', ref: SHA, maxBytes: 10 }),
    );
    expect(GithubRateLimited.is(mapped)).toBe(true);
    expect(mapped.retryable).toBe(true);
    expect(mapped.details).toMatchObject({ status: 403, retryAfterSeconds: 1 });
    // One try plus maxRateLimitRetries waits.
    expect(count(standIn, 'GET', /\/contents\//)).toBe(2);
  });

  it("a 422 is non-retryable and carries GitHub's message", async () => {
    const { standIn, app } = await harness();
    const octokit = await app.forInstallation(1);
    standIn.failNext({
      method: 'POST',
      path: /\/deployments$/,
      status: 422,
      body: {
        message: 'Validation Failed',
        errors: [{ resource: 'Deployment', code: 'custom', message: 'No ref found for: nope' }],
      },
    });
    const err = await caught(
      ensureDeployment(octokit, {
        owner: OWNER,
        repo: REPO,
        ref: SHA,
        environment: 'staging',
        runId: 'r',
        description: 'd',
      }),
    );
    expect(GithubRequestRejected.is(err)).toBe(true);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('No ref found for: nope');
    expect(count(standIn, 'POST', /\/deployments$/)).toBe(1);
  });
});
