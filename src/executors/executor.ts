import path from 'node:path';
import { z } from 'zod';
import { ExecutionSpecInvalid } from '../errors.js';

/**
 * One interface for running a gate command: a local process group or a Kubernetes Job.
 * Gates build an `ExecutionSpec`, an executor runs it and returns what the gate needs to judge.
 */
export interface Executor {
  readonly kind: 'local' | 'kubernetes';
  /**
   * Runs the spec to the end. Resolves for every outcome of the command (failed, timed out,
   * cancelled); rejects only when the executor itself fails (checkout, spawn, Kubernetes API),
   * with a catalogue error whose `retryable` flag says whether to try again.
   */
  run(spec: ExecutionSpec, options?: RunOptions): Promise<ExecutionResult>;
}

export interface RunOptions {
  /** Aborting kills the command (local: the process group; Kubernetes: deletes the Job). */
  signal?: AbortSignal | undefined;
}

export interface CheckoutSpec {
  /** `https://…` (or `file://…` in tests), never with credentials in it. */
  cloneUrl: string;
  /** Full commit sha to check out. */
  sha: string;
  /** Mints the HTTPS token (e.g. an installation token) just before cloning. */
  token?: (() => Promise<string>) | undefined;
}

export interface ExecutionSpec {
  runId: string;
  gate: string;
  /**
   * Stable for one execution of one gate across worker restarts (e.g. `${runId}:${gate}:${sha}`).
   * The Kubernetes executor derives the Job name from it, so a retried worker re-attaches.
   */
  attemptKey: string;
  /** Container image (Kubernetes only; the local executor runs `command` from PATH). */
  image: string;
  /** argv; no shell is involved. */
  command: readonly string[];
  /** Extra environment for the command. Locally, the only other variables are PATH, HOME, LANG, TMPDIR. */
  env: Record<string, string>;
  /** Source to check out; the command runs in the checkout. Without it, in an empty directory. */
  checkout?: CheckoutSpec | undefined;
  timeoutSeconds: number;
  /** Kubernetes requests = limits. Ignored locally. */
  resources?: { cpu?: string | undefined; memory?: string | undefined } | undefined;
  /** name → path relative to the working directory; each file's text comes back in `reports`. */
  reportFiles: Record<string, string>;
  /** Kubernetes only. */
  container?: ContainerOptions | undefined;
}

export interface ContainerOptions {
  /**
   * Absolute directory the command runs in (an emptyDir is mounted there). Report paths are
   * relative to it. @defaultValue `/workspace/src` with a checkout, else `/workspace`
   */
  workingDir?: string | undefined;
  /** Some scanners (ZAP) write to their image's home directory. @defaultValue true */
  readOnlyRootFilesystem?: boolean | undefined;
  /** Non-root uid the container runs as. @defaultValue the executor's `runAsUser` (65532) */
  runAsUser?: number | undefined;
}

export interface ExecutionResult {
  /** The command's exit status; 128+n when killed by signal n; 127 when the program was not found. */
  exitCode: number;
  timedOut: boolean;
  cancelled: boolean;
  /** The last bytes of combined stdout and stderr (bounded by the executor's `logTailBytes`). */
  logTail: string;
  /** How many bytes the command wrote in all. */
  logBytes: number;
  /** name → file text; undefined when the file is missing, unreadable or too large. */
  reports: Record<string, string | undefined>;
  /** name → why the report is undefined, when it is not simply missing (too large, a symlink…). */
  reportProblems: Record<string, string>;
  durationMs: number;
}

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..'), {
    message: 'must be relative and stay inside the working directory',
  });

const specSchema = z.object({
  runId: z.string().min(1),
  gate: z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/),
  attemptKey: z.string().min(1),
  image: z.string(),
  command: z.array(z.string()).min(1),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()),
  timeoutSeconds: z
    .number()
    .int()
    .positive()
    .max(24 * 3600),
  reportFiles: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/), relativePath),
  container: z
    .object({
      workingDir: z
        .string()
        .refine((p) => path.posix.isAbsolute(p) && !p.split('/').includes('..'))
        .optional(),
      readOnlyRootFilesystem: z.boolean().optional(),
      runAsUser: z.number().int().positive().optional(),
    })
    .optional(),
});

/** Throws `SHIPGATE_E_EXECUTION_SPEC_INVALID` naming the first bad field. */
export function validateExecutionSpec(spec: ExecutionSpec): void {
  const parsed = specSchema.safeParse(spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw ExecutionSpecInvalid(`${issue.path.join('.') || 'spec'}: ${issue.message}`);
  }
}

/** Defaults shared by both executors. */
export const DEFAULT_LOG_TAIL_BYTES = 64 * 1024;
export const DEFAULT_MAX_REPORT_BYTES = 50 * 1024 * 1024;
