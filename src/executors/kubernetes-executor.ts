import { tokenMasker, type SecretMasker } from '../masking/secret-masker.js';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  Log,
  PatchStrategy,
  setHeaderOptions,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import { CheckoutFailed, ExecutorFailed } from '../errors.js';
import { assertCloneUrl, assertSha } from '../git/clone-with-token.js';
import {
  DEFAULT_LOG_TAIL_BYTES,
  DEFAULT_MAX_REPORT_BYTES,
  validateExecutionSpec,
  type ExecutionResult,
  type ExecutionSpec,
  type Executor,
  type RunOptions,
} from './executor.js';
import { JobLogParser } from './job-log-parser.js';
import { httpStatusOf, kubeCall, withSignal } from './kube-api-call.js';
import { untilAborted } from '../retry/until-aborted.js';
import {
  ANNOTATION_NONCE,
  MAIN_CONTAINER,
  buildJob,
  buildTokenSecret,
  jobLabels,
  jobNameFor,
  secretNameFor,
} from './kubernetes-job-manifest.js';
import { waitForJob } from './watch-job.js';

export interface KubernetesExecutorOptions {
  /** From `kubeConfigFor(config.kubeconfig)`. */
  kubeConfig: KubeConfig;
  /** Namespace for gate Jobs (`Config.gatesNamespace`). */
  namespace: string;
  /** Image of the clone init container; pin by digest. @defaultValue `DEFAULT_GIT_IMAGE` */
  gitImage?: string | undefined;
  /** Non-root uid for the pod unless the spec says otherwise. @defaultValue 65532 */
  runAsUser?: number | undefined;
  /** Finished Jobs are garbage-collected after this even if Shipgate never deletes them. @defaultValue 3600 */
  ttlSecondsAfterFinished?: number | undefined;
  /** @defaultValue 65536 */
  logTailBytes?: number | undefined;
  /** @defaultValue 52428800 (50 MiB) */
  maxReportBytes?: number | undefined;
  /** Waiting gives up at timeoutSeconds plus this (scheduling, image pulls). @defaultValue 300 */
  startupGraceSeconds?: number | undefined;
  /** Per API request. @defaultValue 30000 */
  apiTimeoutMs?: number | undefined;
  serviceAccountName?: string | undefined;
  imagePullSecrets?: readonly string[] | undefined;
  /** Called whenever a watch stream (re)opens; for tests and metrics. */
  onWatch?: (() => void) | undefined;
  /** Masks secrets in the log tail and reports. @defaultValue token shapes only */
  masker?: SecretMasker | undefined;
}

export const DEFAULT_GIT_IMAGE = 'docker.io/alpine/git:2.47.2';

/** Loads a kubeconfig file, or the in-cluster service account when no path is given. */
export function kubeConfigFor(kubeconfigPath: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (kubeconfigPath) kubeConfig.loadFromFile(kubeconfigPath);
  else kubeConfig.loadFromCluster();
  return kubeConfig;
}

interface ResolvedOptions {
  gitImage: string;
  runAsUser: number;
  ttlSecondsAfterFinished: number;
  logTailBytes: number;
  maxReportBytes: number;
  startupGraceSeconds: number;
  apiTimeoutMs: number;
}

/**
 * Runs a gate as a `batch/v1` Job: an init container clones the sha with the token from a
 * per-execution Secret, the main container runs the command in the gate image, and the
 * report files come back through the pod log. The Job name is derived from the attempt key:
 * a restarted worker attaches to the Job already running instead of starting another.
 */
export class KubernetesExecutor implements Executor {
  readonly kind = 'kubernetes' as const;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly resolved: ResolvedOptions;

  constructor(private readonly options: KubernetesExecutorOptions) {
    this.batch = options.kubeConfig.makeApiClient(BatchV1Api);
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.resolved = {
      gitImage: options.gitImage ?? DEFAULT_GIT_IMAGE,
      runAsUser: options.runAsUser ?? 65532,
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished ?? 3600,
      logTailBytes: options.logTailBytes ?? DEFAULT_LOG_TAIL_BYTES,
      maxReportBytes: options.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES,
      startupGraceSeconds: options.startupGraceSeconds ?? 300,
      apiTimeoutMs: options.apiTimeoutMs ?? 30_000,
    };
  }

  private call<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return kubeCall(what, fn, { timeoutMs: this.resolved.apiTimeoutMs });
  }

  async run(spec: ExecutionSpec, runOptions: RunOptions = {}): Promise<ExecutionResult> {
    validateExecutionSpec(spec);
    if (spec.checkout) {
      assertCloneUrl(spec.checkout.cloneUrl);
      assertSha(spec.checkout.sha);
    }
    const started = Date.now();
    const { signal } = runOptions;
    const namespace = this.options.namespace;
    if (signal?.aborted) return emptyResult({ cancelled: true, exitCode: 130 }, started);

    const jobName = jobNameFor(spec);
    const secretName = spec.checkout?.token ? secretNameFor(jobName) : undefined;
    if (secretName && spec.checkout?.token) {
      await this.putTokenSecret(secretName, spec, await spec.checkout.token());
    }
    const job = await this.createOrAttach(spec, secretName);
    const uid = job.metadata?.uid;
    const nonce = job.metadata?.annotations?.[ANNOTATION_NONCE] ?? '';
    if (secretName && uid) await this.ownSecret(secretName, jobName, uid);

    const wait = await waitForJob(this.options.kubeConfig, {
      namespace,
      name: jobName,
      uid,
      signal,
      deadline: started + (spec.timeoutSeconds + this.resolved.startupGraceSeconds) * 1000,
      apiTimeoutMs: this.resolved.apiTimeoutMs,
      onWatch: this.options.onWatch,
    });

    if (wait.kind === 'aborted') {
      await this.cleanUp(jobName, secretName);
      return emptyResult({ cancelled: true, exitCode: 130 }, started);
    }
    if (wait.kind === 'gone') {
      // Deleted behind our back (by hand, or by TTL before we looked): the retry re-runs cleanly.
      await this.deleteSecret(secretName);
      throw ExecutorFailed('kubernetes', `Job ${namespace}/${jobName} disappeared before it finished`);
    }

    const pod = await this.latestPod(uid, jobName);
    const clone = pod?.status?.initContainerStatuses?.find((s) => s.name === 'clone')?.state?.terminated;
    if (spec.checkout && clone && clone.exitCode !== 0) {
      const log = await this.readLog(pod!, 'clone', '');
      await this.cleanUp(jobName, secretName);
      throw CheckoutFailed(
        spec.checkout.cloneUrl,
        spec.checkout.sha,
        log.tail.toString().trim().split('\n').slice(-3).join(' | '),
      );
    }

    const parser = pod ? await this.readLog(pod, MAIN_CONTAINER, nonce) : undefined;
    const main = pod?.status?.containerStatuses?.find((s) => s.name === MAIN_CONTAINER);
    const terminated = main?.state?.terminated;
    const waiting = main?.state?.waiting;
    const deadlineExceeded =
      wait.kind === 'deadline' ||
      jobFailedReason(wait.kind === 'finished' ? wait.job : undefined) === 'DeadlineExceeded';
    const tail = parser?.tail;
    if (tail && terminated?.message)
      tail.write(
        `\nshipgate: container ${MAIN_CONTAINER} terminated: ${terminated.reason ?? ''} ${terminated.message}\n`,
      );
    if (tail && waiting?.reason)
      tail.write(
        `\nshipgate: container ${MAIN_CONTAINER} never ran: ${waiting.reason} ${waiting.message ?? ''}\n`,
      );

    const succeeded = wait.kind === 'finished' && jobSucceeded(wait.job);
    const exitCode = terminated?.exitCode ?? parser?.exitCode ?? (deadlineExceeded ? 124 : succeeded ? 0 : 1);
    const reports: Record<string, string | undefined> = {};
    const masker = this.options.masker ?? tokenMasker;
    for (const name of Object.keys(spec.reportFiles)) {
      const text = parser?.reports[name];
      reports[name] = text === undefined ? undefined : masker.mask(text);
    }

    await this.cleanUp(jobName, secretName);
    return {
      exitCode,
      timedOut: deadlineExceeded,
      cancelled: false,
      logTail: masker.mask(tail?.toString() ?? ''),
      logBytes: tail?.totalBytes ?? 0,
      reports,
      reportProblems: { ...parser?.reportProblems },
      durationMs: Date.now() - started,
    };
  }

  private async putTokenSecret(name: string, spec: ExecutionSpec, token: string): Promise<void> {
    const body = buildTokenSecret(name, this.options.namespace, jobLabels(spec), token);
    try {
      await this.call('create Secret', (signal) =>
        this.core.createNamespacedSecret({ namespace: this.options.namespace, body }, withSignal(signal)),
      );
    } catch (err) {
      if (httpStatusOf(err) !== 409) throw wrap('create Secret', err);
      // Left by an earlier attempt: refresh the token (the old one may have expired).
      await this.call('replace Secret', (signal) =>
        this.core.replaceNamespacedSecret(
          { name, namespace: this.options.namespace, body },
          withSignal(signal),
        ),
      ).catch((e: unknown) => {
        throw wrap('replace Secret', e);
      });
    }
  }

  /** Makes the Job own the Secret, so Kubernetes deletes it with the Job even if we never get to. */
  private async ownSecret(name: string, jobName: string, uid: string): Promise<void> {
    const patch = [
      {
        op: 'add',
        path: '/metadata/ownerReferences',
        value: [{ apiVersion: 'batch/v1', kind: 'Job', name: jobName, uid, blockOwnerDeletion: false }],
      },
    ];
    await this.call('patch Secret', (signal) =>
      this.core.patchNamespacedSecret(
        { name, namespace: this.options.namespace, body: patch },
        withSignal(signal, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)),
      ),
    ).catch(() => undefined); // best effort: we delete the Secret ourselves too
  }

  private async createOrAttach(spec: ExecutionSpec, secretName: string | undefined): Promise<V1Job> {
    const namespace = this.options.namespace;
    const name = jobNameFor(spec);
    for (let attempt = 0; attempt < 30; attempt += 1) {
      const body = buildJob(spec, {
        namespace,
        gitImage: this.resolved.gitImage,
        runAsUser: this.resolved.runAsUser,
        ttlSecondsAfterFinished: this.resolved.ttlSecondsAfterFinished,
        nonce: randomBytes(12).toString('hex'),
        tokenSecretName: secretName,
        serviceAccountName: this.options.serviceAccountName,
        imagePullSecrets: this.options.imagePullSecrets ?? [],
      });
      try {
        return await this.call('create Job', (signal) =>
          this.batch.createNamespacedJob({ namespace, body: body as unknown as V1Job }, withSignal(signal)),
        );
      } catch (err) {
        if (httpStatusOf(err) !== 409) throw wrap('create Job', err);
      }
      // AlreadyExists: a previous worker started this very execution. Attach to it.
      let existing: V1Job | undefined;
      try {
        existing = await this.call('read Job', (signal) =>
          this.batch.readNamespacedJob({ name, namespace }, withSignal(signal)),
        );
      } catch (err) {
        if (httpStatusOf(err) !== 404) throw wrap('read Job', err);
      }
      if (existing && !existing.metadata?.deletionTimestamp) return existing;
      // Being deleted (a cancelled earlier attempt): wait for it to go, then create ours.
      await new Promise((r) => setTimeout(r, 1_000));
    }
    throw ExecutorFailed('kubernetes', `Job ${namespace}/${name} is stuck terminating`);
  }

  private async latestPod(uid: string | undefined, jobName: string): Promise<V1Pod | undefined> {
    const labelSelector = uid ? `controller-uid=${uid}` : `job-name=${jobName}`;
    const pods = await this.call('list Pods', (signal) =>
      this.core.listNamespacedPod({ namespace: this.options.namespace, labelSelector }, withSignal(signal)),
    ).catch((err: unknown) => {
      throw wrap('list Pods', err);
    });
    return [...pods.items].sort(
      (a, b) =>
        new Date(b.metadata?.creationTimestamp ?? 0).getTime() -
        new Date(a.metadata?.creationTimestamp ?? 0).getTime(),
    )[0];
  }

  /** Streams the container log through the parser: a flood of output never sits in memory. */
  private async readLog(pod: V1Pod, container: string, nonce: string): Promise<JobLogParser> {
    const parser = new JobLogParser(
      nonce || 'no-nonce',
      this.resolved.logTailBytes,
      this.resolved.maxReportBytes,
    );
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        parser.write(chunk);
        callback();
      },
    });
    const finished = new Promise<void>((resolve, reject) => {
      sink.on('finish', resolve);
      sink.on('error', reject);
    });
    let controller: AbortController | undefined;
    try {
      controller = await this.call('read pod log', () =>
        new Log(this.options.kubeConfig).log(this.options.namespace, pod.metadata!.name!, container, sink, {
          follow: false,
        }),
      );
      // The stream takes no signal of its own: on timeout the catch below aborts it.
      await untilAborted(finished, AbortSignal.timeout(4 * this.resolved.apiTimeoutMs)).catch(
        (err: unknown) => {
          throw (err as Error).name === 'TimeoutError' ? new Error('log read timed out') : err;
        },
      );
    } catch (err) {
      controller?.abort();
      const status = httpStatusOf(err);
      // A pod that never started has no log (400); the result then says why the container never ran.
      if (status !== 400 && status !== 404) throw wrap('read pod log', err);
    }
    parser.finish();
    return parser;
  }

  private async cleanUp(jobName: string, secretName: string | undefined): Promise<void> {
    try {
      await this.call('delete Job', (signal) =>
        this.batch.deleteNamespacedJob(
          { name: jobName, namespace: this.options.namespace, propagationPolicy: 'Background' },
          withSignal(signal),
        ),
      );
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw wrap('delete Job', err);
    }
    await this.deleteSecret(secretName);
  }

  private async deleteSecret(secretName: string | undefined): Promise<void> {
    if (!secretName) return;
    try {
      await this.call('delete Secret', (signal) =>
        this.core.deleteNamespacedSecret(
          { name: secretName, namespace: this.options.namespace },
          withSignal(signal),
        ),
      );
    } catch (err) {
      if (httpStatusOf(err) !== 404) throw wrap('delete Secret', err);
    }
  }
}

function jobFailedReason(job: V1Job | undefined): string | undefined {
  return job?.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True')?.reason;
}

function jobSucceeded(job: V1Job): boolean {
  return (job.status?.conditions ?? []).some((c) => c.type === 'Complete' && c.status === 'True');
}

/** Keeps API error bodies (which can echo request fields) out of the message. */
function wrap(what: string, err: unknown) {
  if (err instanceof Error && 'retryable' in err) return err;
  const status = httpStatusOf(err);
  return ExecutorFailed(
    'kubernetes',
    `${what}: ${status !== undefined ? `HTTP ${status}` : (err as Error).message.split('\n')[0]}`,
    {
      cause: err,
    },
  );
}

function emptyResult(overrides: Partial<ExecutionResult>, started: number): ExecutionResult {
  return {
    exitCode: 0,
    timedOut: false,
    cancelled: false,
    logTail: '',
    logBytes: 0,
    reports: {},
    reportProblems: {},
    durationMs: Date.now() - started,
    ...overrides,
  };
}
