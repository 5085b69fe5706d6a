import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { runProcess, type ProcessOutcome } from '../process/run-process.js';
import path from 'node:path';
import { GitAuthFailed, GitCommandFailed, GitTimeout } from '../errors.js';
import { withSpan } from '../telemetry/with-span.js';

/**
 * A small runner for the real `git` binary. It never goes through a shell, bounds time and
 * output, never prompts, ignores the host's git config, and passes HTTPS credentials through
 * GIT_ASKPASS + environment variables so a token never reaches argv, a remote URL, the
 * reflog, `.git/config` or a log line.
 */

export interface GitIdentity {
  name: string;
  email: string;
}

/** @defaultValue the identity every Shipgate commit carries unless configured otherwise. */
export const DEFAULT_GIT_IDENTITY: GitIdentity = Object.freeze({
  name: 'Shipgate',
  email: 'shipgate@users.noreply.github.com',
});

/** HTTPS credentials for one call. `username` defaults to `x-access-token` (GitHub App tokens). */
export interface GitAuth {
  username?: string;
  password: string;
}

export interface GitCliOptions {
  /** @defaultValue `git` (looked up on PATH) */
  gitBinary?: string;
  /** Per-command timeout. @defaultValue 60_000 */
  timeoutMs?: number;
  /** Largest stdout accepted before the command is killed. @defaultValue 32 MiB */
  maxOutputBytes?: number;
  /** Author and committer of commits made with `commitEnv()`. @defaultValue {@link DEFAULT_GIT_IDENTITY} */
  identity?: GitIdentity;
  /** Extra environment (for example `PATH`); the host's git config is never read. */
  env?: Record<string, string | undefined>;
}

export interface GitRunOptions {
  cwd: string;
  /** Written to stdin, then stdin is closed. */
  input?: string | Buffer;
  timeoutMs?: number;
  maxOutputBytes?: number;
  auth?: GitAuth;
  /** Extra environment for this call (e.g. `GIT_INDEX_FILE`, `GIT_AUTHOR_DATE`). */
  env?: Record<string, string>;
  /** Exit codes that are answers rather than failures (e.g. `[1]` for `diff --quiet`). */
  okExitCodes?: readonly number[];
}

export interface GitResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Removes credentials embedded in URLs (`https://user:pass@host`) from text meant for errors. */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/gi, '$1***@');
}

/** True when `url` carries a userinfo part; Shipgate refuses those so tokens stay out of config. */
export function urlHasCredentials(url: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(url);
}

// The askpass helper answers git's two prompts from the environment of the one git process
// that asked, so nothing secret is ever written to disk.
const ASKPASS_SCRIPT = `#!/bin/sh
case "$1" in
  Username*|username*) printf '%s\\n' "\${SHIPGATE_GIT_USERNAME:-x-access-token}" ;;
  *) printf '%s\\n' "\${SHIPGATE_GIT_PASSWORD}" ;;
esac
`;

let askpassPath: Promise<string> | undefined;

function ensureAskpass(): Promise<string> {
  askpassPath ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'shipgate-askpass-'));
    const file = path.join(dir, 'askpass.sh');
    await writeFile(file, ASKPASS_SCRIPT, { mode: 0o700 });
    return file;
  })();
  return askpassPath;
}

export class GitCli {
  readonly identity: GitIdentity;
  private readonly gitBinary: string;
  private readonly timeoutMs: number;
  private readonly maxOutputBytes: number;
  private readonly extraEnv: Record<string, string | undefined>;

  constructor(options: GitCliOptions = {}) {
    this.gitBinary = options.gitBinary ?? 'git';
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxOutputBytes = options.maxOutputBytes ?? 32 * 1024 * 1024;
    this.identity = options.identity ?? DEFAULT_GIT_IDENTITY;
    this.extraEnv = options.env ?? {};
  }

  /** Environment that makes `commit-tree` use Shipgate's identity and an optional fixed date. */
  commitEnv(date?: Date): Record<string, string> {
    const env: Record<string, string> = {
      GIT_AUTHOR_NAME: this.identity.name,
      GIT_AUTHOR_EMAIL: this.identity.email,
      GIT_COMMITTER_NAME: this.identity.name,
      GIT_COMMITTER_EMAIL: this.identity.email,
    };
    if (date) {
      const stamp = `${Math.floor(date.getTime() / 1000)} +0000`;
      env.GIT_AUTHOR_DATE = stamp;
      env.GIT_COMMITTER_DATE = stamp;
    }
    return env;
  }

  /** One span per git command (`git <subcommand>`); arguments stay out, they may hold URLs. */
  run(args: readonly string[], options: GitRunOptions): Promise<GitResult> {
    return withSpan(`git ${describe(args)}`, { attributes: { 'shipgate.git.command': describe(args) } }, () =>
      this.runUntraced(args, options),
    );
  }

  private async runUntraced(args: readonly string[], options: GitRunOptions): Promise<GitResult> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const maxOutput = options.maxOutputBytes ?? this.maxOutputBytes;
    const command = describe(args);
    const env = await this.buildEnv(options);
    // Hooks and fsmonitor could run code from a repository's config; Shipgate's repos are its
    // own, but the env repo's content is still not trusted to decide what runs.
    const fullArgs = ['-c', 'core.hooksPath=/dev/null', '-c', 'core.fsmonitor=false', ...args];

    let ran: ProcessOutcome;
    try {
      ran = await runProcess([this.gitBinary, ...fullArgs], {
        cwd: options.cwd,
        env,
        timeoutMs,
        maxOutputBytes: 1024,
        captureStdoutBytes: maxOutput,
        input: options.input ?? '',
        killGraceMs: 1_000,
      });
    } catch (error) {
      throw GitCommandFailed(command, (error as Error).message, { cause: error });
    }
    if (ran.spawnError) throw GitCommandFailed(command, ran.spawnError.message, { cause: ran.spawnError });
    if (ran.timedOut) throw GitTimeout(command, timeoutMs);
    if (ran.overflowed) throw GitCommandFailed(command, `output exceeded ${maxOutput} bytes`);
    const stderr = redactCredentials(ran.stderr);
    const result: GitResult = { stdout: ran.stdout, stderr, exitCode: ran.exitCode };
    if (ran.exitCode === 0 || options.okExitCodes?.includes(ran.exitCode)) return result;
    if (/Authentication failed|could not read Username|terminal prompts disabled|HTTP 40[13]/i.test(stderr)) {
      throw GitAuthFailed(remoteOf(args), { details: { command, stderr: lastLines(stderr) } });
    }
    throw GitCommandFailed(command, lastLines(stderr) || `exit code ${ran.exitCode}`, {
      details: { command, exitCode: ran.exitCode, stderr: lastLines(stderr) },
    });
  }

  private async buildEnv(options: GitRunOptions): Promise<NodeJS.ProcessEnv> {
    const env: NodeJS.ProcessEnv = {
      PATH: this.extraEnv.PATH ?? process.env.PATH ?? '/usr/bin:/bin',
      HOME: this.extraEnv.HOME ?? tmpdir(),
      LANG: 'C',
      LC_ALL: 'C',
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      // ext:: and fd:: transports run commands; env repos only ever need these.
      GIT_ALLOW_PROTOCOL: 'file:https:http:ssh:git',
      GIT_OPTIONAL_LOCKS: '0',
      GIT_ADVICE: '0',
    };
    for (const [key, value] of Object.entries(this.extraEnv)) if (value !== undefined) env[key] = value;
    if (options.auth) {
      env.GIT_ASKPASS = await ensureAskpass();
      env.SSH_ASKPASS = env.GIT_ASKPASS;
      env.SHIPGATE_GIT_USERNAME = options.auth.username ?? 'x-access-token';
      env.SHIPGATE_GIT_PASSWORD = options.auth.password;
    } else {
      env.GIT_ASKPASS = '/bin/false';
    }
    return { ...env, ...options.env };
  }
}

/** The subcommand and its flags, without positional values that may carry URLs or paths. */
function describe(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-c' || arg === '-C') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return 'git';
}

function remoteOf(args: readonly string[]): string {
  const url = args.find((a) => /^[a-z][a-z0-9+.-]*:\/\//i.test(a));
  return url ? redactCredentials(url) : 'remote';
}

function lastLines(text: string, n = 6): string {
  return text.trim().split('\n').slice(-n).join('\n');
}
