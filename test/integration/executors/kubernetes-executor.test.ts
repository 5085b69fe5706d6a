import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CheckoutFailed } from '../../../src/errors.js';
import type { ExecutionSpec } from '../../../src/executors/executor.js';
import { KubernetesExecutor, kubeConfigFor } from '../../../src/executors/kubernetes-executor.js';
import { jobNameFor } from '../../../src/executors/kubernetes-job-manifest.js';
import {
  startKubeApiStandIn,
  type KubeObject,
  type KubeStandIn,
} from '../../../sandbox/kube-api-stand-in.js';
import { createGitRemote, serveGitOverHttp, type GitRemote } from '../../../sandbox/git-remote.js';

const NS = 'shipgate-gates';
type Mode = 'run' | 'hold' | 'deadline';

interface Container {
  name: string;
  command: string[];
  workingDir?: string;
  env?: { name: string; value: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes: { name: string; secret?: { secretName: string } }[];
}

let api: KubeStandIn;
let remote: GitRemote;
let mode: Mode;
let created: KubeObject[];
let held: { job: KubeObject; pod: KubeObject }[];
let tokensSeen: string[];
let scratch: string;
let watchOpens: number;

const exec = (options: { timeoutMs?: number } = {}) =>
  new KubernetesExecutor({
    kubeConfig: kubeConfigFor(api.kubeconfigPath),
    namespace: NS,
    apiTimeoutMs: options.timeoutMs ?? 5_000,
    onWatch: () => {
      watchOpens += 1;
    },
  });

function spec(command: string, extra: Partial<ExecutionSpec> = {}): ExecutionSpec {
  return {
    runId: 'run-42',
    gate: 'tests',
    attemptKey: `run-42:tests:${Math.random()}`,
    image: 'ghcr.io/acme/app-ci:1',
    command: ['sh', '-c', command],
    env: { GATE_VAR: 'yes' },
    checkout: { cloneUrl: remote.fileUrl, sha: remote.shas[0]! },
    timeoutSeconds: 60,
    resources: { cpu: '500m', memory: '256Mi' },
    reportFiles: { result: 'reports/result.json' },
    ...extra,
  };
}

async function waitFor(check: () => boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((r) => setTimeout(r, 10));
  }
}

function run(
  argv: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/**
 * Plays the Job controller and the kubelet: makes the Pod, then runs the init and main
 * containers' real commands on this machine with absolute paths moved under a temp dir,
 * the Secret's token written where the volume would be mounted.
 */
async function runPod(job: KubeObject, pod: KubeObject): Promise<void> {
  const podSpec = (job.spec as { template: { spec: PodSpec } }).template.spec;
  const root = mkdtempSync(path.join(scratch, 'pod-'));
  const map = (p: string) => path.join(root, p);
  const envOf = (c: Container) => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...Object.fromEntries(
      (c.env ?? []).map((e) => [e.name, e.value.startsWith('/') ? map(e.value) : e.value]),
    ),
  });
  for (const dir of ['/workspace', '/tmp', '/workspace/home']) mkdirSync(map(dir), { recursive: true });
  const tokenVolume = podSpec.volumes.find((v) => v.secret);
  if (tokenVolume) {
    const secret = api.get('secrets', NS, tokenVolume.secret!.secretName);
    const token = Buffer.from(
      (secret as unknown as { data: { token: string } }).data.token,
      'base64',
    ).toString();
    tokensSeen.push(token);
    mkdirSync(map('/var/run/shipgate/git'), { recursive: true });
    writeFileSync(map('/var/run/shipgate/git/token'), token);
  }
  const name = pod.metadata.name;
  const finish = (exitCode: number, log: string, init?: { exitCode: number }) => {
    if (!api.get('jobs', NS, job.metadata.name)) return; // deleted meanwhile
    api.setPodLog(NS, name, log);
    api.patchStatus('pods', NS, name, {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      ...(init
        ? { initContainerStatuses: [{ name: 'clone', state: { terminated: { exitCode: init.exitCode } } }] }
        : {}),
      containerStatuses: init?.exitCode
        ? []
        : [{ name: 'main', state: { terminated: { exitCode, reason: exitCode ? 'Error' : 'Completed' } } }],
    });
    api.patchStatus('jobs', NS, job.metadata.name, {
      conditions: [
        exitCode === 0
          ? { type: 'Complete', status: 'True' }
          : { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' },
      ],
      ...(exitCode === 0 ? { succeeded: 1 } : { failed: 1 }),
    });
  };
  for (const c of podSpec.initContainers ?? []) {
    const result = await run(c.command, root, envOf(c));
    if (result.code !== 0) {
      finish(1, result.output, { exitCode: result.code });
      return;
    }
  }
  const main = podSpec.containers[0]!;
  const cwd = map(main.workingDir!);
  mkdirSync(cwd, { recursive: true });
  const result = await run(main.command, cwd, envOf(main));
  finish(result.code, result.output, podSpec.initContainers?.length ? { exitCode: 0 } : undefined);
}

beforeAll(async () => {
  api = await startKubeApiStandIn();
  remote = createGitRemote([{ 'version.txt': 'v1\n' }, { 'version.txt': 'v2\n' }]);
  scratch = mkdtempSync(path.join(tmpdir(), 'shipgate-kubelet-'));
  api.onCreate('jobs', (job) => {
    created.push(job);
    const pod = api.upsert({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${job.metadata.name}-${Math.random().toString(36).slice(2, 7)}`,
        namespace: NS,
        labels: { 'controller-uid': job.metadata.uid!, 'job-name': job.metadata.name },
        ownerReferences: [
          { apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid! },
        ],
      },
      spec: (job.spec as { template: { spec: unknown } }).template.spec,
      status: { phase: 'Pending' },
    });
    if (mode === 'run') void runPod(job, pod);
    else if (mode === 'hold') held.push({ job, pod });
    else {
      api.setPodLog(NS, pod.metadata.name, 'working on it\n');
      api.patchStatus('pods', NS, pod.metadata.name, {
        phase: 'Failed',
        containerStatuses: [{ name: 'main', state: { terminated: { exitCode: 137, reason: 'Error' } } }],
      });
      api.patchStatus('jobs', NS, job.metadata.name, {
        conditions: [
          {
            type: 'Failed',
            status: 'True',
            reason: 'DeadlineExceeded',
            message: 'Job was active longer than specified deadline',
          },
        ],
      });
    }
  });
});

afterAll(async () => {
  await api.close();
  remote.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

beforeEach(() => {
  mode = 'run';
  created = [];
  held = [];
  tokensSeen = [];
  watchOpens = 0;
});

afterEach(() => {
  expect(api.objects('jobs', NS)).toEqual([]);
  expect(api.objects('secrets', NS)).toEqual([]);
});

describe('KubernetesExecutor against the API stand-in', () => {
  it('runs a Job to success: clone at the sha, report through the log, everything deleted after', async () => {
    const token = 'ghs_kubeTokenValue0123456789';
    const s = spec(
      'cat version.txt; echo "GATE_VAR=$GATE_VAR"; mkdir -p reports; printf \'{"ok":true}\' > reports/result.json',
      {
        checkout: { cloneUrl: remote.fileUrl, sha: remote.shas[0]!, token: async () => token },
      },
    );
    const result = await exec().run(s);
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, cancelled: false });
    expect(result.logTail).toBe('v1\nGATE_VAR=yes\n');
    expect(result.reports).toEqual({ result: '{"ok":true}' });
    expect(tokensSeen).toEqual([token]);

    expect(created).toHaveLength(1);
    const job = created[0]!;
    expect(job.metadata.name).toBe(jobNameFor(s));
    expect(job.metadata.labels).toMatchObject({
      'shipgate.dev/run-id': 'run-42',
      'shipgate.dev/gate': 'tests',
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a free-form manifest, checked field by field
    const jobSpec = job.spec as Record<string, any>;
    expect(jobSpec).toMatchObject({
      backoffLimit: 0,
      activeDeadlineSeconds: 60,
      ttlSecondsAfterFinished: 3600,
    });
    const pod = jobSpec.template.spec;
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const c of [...pod.initContainers, ...pod.containers]) {
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    }
    expect(pod.containers[0]).toMatchObject({
      image: 'ghcr.io/acme/app-ci:1',
      resources: { limits: { cpu: '500m', memory: '256Mi' } },
    });
    expect(JSON.stringify(job)).not.toContain(token);
    expect(
      api.requests.some((r) => r.method === 'DELETE' && r.path.endsWith(`/secrets/${jobNameFor(s)}-git`)),
    ).toBe(true);
    expect(
      api.requests.some(
        (r) =>
          r.method === 'DELETE' &&
          r.path.endsWith(`/jobs/${jobNameFor(s)}`) &&
          r.query.includes('propagationPolicy=Background'),
      ),
    ).toBe(true);
  });

  it('clones over HTTP with the token from the Secret, through the credential helper', async () => {
    const token = 'ghs_httpKubeToken987654321';
    const server = await serveGitOverHttp(remote.bareDir, token);
    try {
      const result = await exec().run(
        spec('cat version.txt', {
          checkout: { cloneUrl: server.cloneUrl, sha: remote.shas[1]!, token: async () => token },
        }),
      );
      expect(result).toMatchObject({ exitCode: 0, logTail: 'v2\n' });
      expect(server.requests.some((r) => r.authorization !== undefined)).toBe(true);
      for (const r of server.requests) expect(r.url).not.toContain(token);
    } finally {
      await server.close();
    }
  });

  it('reports a failing command with its exit code; a failed clone is a retryable CheckoutFailed', async () => {
    const failed = await exec().run(spec('echo broken >&2; exit 3'));
    expect(failed).toMatchObject({
      exitCode: 3,
      timedOut: false,
      logTail: 'broken\n',
      reports: { result: undefined },
    });

    const err = await exec()
      .run(spec('true', { checkout: { cloneUrl: remote.fileUrl, sha: 'a'.repeat(40) } }))
      .catch((e: unknown) => e);
    expect(CheckoutFailed.is(err)).toBe(true);
    expect((err as { retryable: boolean }).retryable).toBe(true);
  });

  it('reports deadline exceeded as timed out', async () => {
    mode = 'deadline';
    const result = await exec().run(spec('sleep 600', { timeoutSeconds: 5 }));
    expect(result).toMatchObject({ timedOut: true, cancelled: false, exitCode: 137 });
    expect(result.logTail).toBe('working on it\n');
  });

  it('survives a dropped watch mid-Job by re-listing and re-watching', async () => {
    mode = 'hold';
    const running = exec().run(spec('echo done'));
    await waitFor(() => held.length === 1 && watchOpens === 1 && api.openWatchCount() === 1);
    api.dropWatches();
    await waitFor(() => watchOpens === 2 && api.openWatchCount() === 1);
    await runPod(held[0]!.job, held[0]!.pod);
    const result = await running;
    expect(result).toMatchObject({ exitCode: 0, logTail: 'done\n' });
    const watches = api.requests.filter((r) => r.path.endsWith('/jobs') && r.query.includes('watch=true'));
    expect(watches.length).toBeGreaterThanOrEqual(2);
  });

  it('notices a Job that finished while no watch was open', async () => {
    mode = 'hold';
    const running = exec().run(spec('echo quick'));
    await waitFor(() => held.length === 1 && watchOpens === 1);
    api.dropWatches();
    await runPod(held[0]!.job, held[0]!.pod);
    expect(await running).toMatchObject({ exitCode: 0, logTail: 'quick\n' });
  });

  it('cancel deletes the Job and the Secret', async () => {
    mode = 'hold';
    const controller = new AbortController();
    const s = spec('sleep 600', {
      checkout: { cloneUrl: remote.fileUrl, sha: remote.shas[0]!, token: async () => 't0ken' },
    });
    const running = exec().run(s, { signal: controller.signal });
    await waitFor(() => held.length === 1 && watchOpens === 1);
    const secret = api.get('secrets', NS, `${jobNameFor(s)}-git`);
    expect(secret?.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'Job',
      uid: held[0]!.job.metadata.uid,
    });
    controller.abort();
    expect(await running).toMatchObject({ cancelled: true });
    expect(api.get('jobs', NS, jobNameFor(s))).toBeUndefined();
    expect(api.get('secrets', NS, `${jobNameFor(s)}-git`)).toBeUndefined();
  });

  it('a restarted worker re-attaches to the running Job: one Job in all', async () => {
    mode = 'hold';
    const s = spec('echo once; mkdir -p reports; echo 1 > reports/result.json');
    const requestsBefore = api.requests.length;
    const first = exec().run(s);
    await waitFor(() => held.length === 1 && watchOpens === 1);
    // A second worker process picks up the same gate execution (e.g. after a stall).
    const second = exec().run(s);
    await waitFor(() => watchOpens === 2);
    expect(created).toHaveLength(1);
    expect(api.objects('jobs', NS)).toHaveLength(1);
    await runPod(held[0]!.job, held[0]!.pod);
    const [a, b] = await Promise.all([first, second]);
    expect(a).toMatchObject({ exitCode: 0, logTail: 'once\n', reports: { result: '1\n' } });
    expect(b).toMatchObject({ exitCode: 0, logTail: 'once\n', reports: { result: '1\n' } });
    const creates = api.requests
      .slice(requestsBefore)
      .filter((r) => r.method === 'POST' && r.path.endsWith('/jobs'));
    expect(creates).toHaveLength(2); // the second answered 409 AlreadyExists, and that worker attached
  });

  it('keeps only the tail of a flood and ignores markers with another nonce', async () => {
    const s = spec(
      "head -c 3000000 /dev/zero | tr '\\0' y; echo; echo '::shipgate-exit 0000 0::'; echo end; exit 4",
      { checkout: undefined },
    );
    const result = await new KubernetesExecutor({
      kubeConfig: kubeConfigFor(api.kubeconfigPath),
      namespace: NS,
      logTailBytes: 1024,
    }).run(s);
    expect(result.exitCode).toBe(4);
    expect(Buffer.byteLength(result.logTail)).toBeLessThanOrEqual(1024);
    expect(result.logTail.endsWith('y\n::shipgate-exit 0000 0::\nend\n')).toBe(true);
    expect(result.logBytes).toBeGreaterThan(3_000_000);
  });
});
