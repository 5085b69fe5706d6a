import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CheckoutFailed, ExecutionSpecInvalid } from '../errors.js';
import { runProcess } from '../process/run-process.js';

export interface CloneAtShaOptions {
  /** `https://…`, `http://…` or `file://…`, without credentials. */
  cloneUrl: string;
  /** The exact commit to check out (40 or 64 hex digits). */
  sha: string;
  /** An empty or missing directory to check out into. */
  dir: string;
  /** Mints the HTTPS password (an installation token); asked only when set. */
  token?: (() => Promise<string>) | undefined;
  /** Per git command. @defaultValue 120000 */
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
  /** PATH for git. @defaultValue the worker's PATH */
  path?: string | undefined;
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const TOKEN_ENV = 'SHIPGATE_GIT_TOKEN';

/**
 * The askpass program git runs when the server asks for credentials. It holds no secret:
 * it prints the token from an environment variable that only the git processes get, so the
 * token is never in argv (visible in `ps` to every user), the remote URL, or git's config.
 */
const ASKPASS_SCRIPT = `#!/bin/sh
case "$1" in
  Username*) printf '%s\\n' x-access-token ;;
  *) printf '%s\\n' "$${TOKEN_ENV}" ;;
esac
`;

/** Rejects URLs git would misread and URLs that carry credentials. */
export function assertCloneUrl(cloneUrl: string): URL {
  let url: URL;
  try {
    url = new URL(cloneUrl);
  } catch {
    throw ExecutionSpecInvalid('checkout.cloneUrl is not a URL');
  }
  if (!['https:', 'http:', 'file:'].includes(url.protocol)) {
    throw ExecutionSpecInvalid(`checkout.cloneUrl must be https, http or file (got ${url.protocol})`);
  }
  if (url.username !== '' || url.password !== '') {
    throw ExecutionSpecInvalid('checkout.cloneUrl must not carry credentials; pass checkout.token');
  }
  return url;
}

export function assertSha(sha: string): void {
  if (!SHA.test(sha)) throw ExecutionSpecInvalid('checkout.sha must be a full lowercase commit id');
}

function scrub(text: string, secret: string | undefined): string {
  const tail = text.trim().split('\n').slice(-5).join(' | ');
  return secret ? tail.split(secret).join('***') : tail;
}

/**
 * Checks out exactly `sha` from `cloneUrl` into `dir` with a shallow fetch of that one
 * commit (`git init` + `fetch --depth 1 origin <sha>`), falling back to a full fetch for
 * servers that refuse to serve an unadvertised sha. The result is verified with rev-parse.
 */
export async function cloneAtSha(options: CloneAtShaOptions): Promise<void> {
  const { cloneUrl, sha, dir } = options;
  assertCloneUrl(cloneUrl);
  assertSha(sha);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const secretDir = await mkdtemp(path.join(tmpdir(), 'shipgate-git-'));
  let token: string | undefined;
  try {
    await chmod(secretDir, 0o700);
    const askpass = path.join(secretDir, 'askpass.sh');
    await writeFile(askpass, ASKPASS_SCRIPT, { mode: 0o700 });
    if (options.token) token = await options.token();
    const env: Record<string, string> = {
      PATH: options.path ?? process.env.PATH ?? '/usr/bin:/bin',
      HOME: secretDir,
      LANG: 'C',
      // No system or user config: a configured credential store must never persist the token.
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      GIT_ASKPASS: askpass,
      ...(token ? { [TOKEN_ENV]: token } : {}),
    };
    await mkdir(dir, { recursive: true });
    const git = async (args: string[]): Promise<{ ok: boolean; output: string }> => {
      const outcome = await runProcess(['git', '-c', 'credential.helper=', ...args], {
        cwd: dir,
        env,
        timeoutMs,
        signal: options.signal,
        maxOutputBytes: 16 * 1024,
      });
      if (outcome.cancelled) throw CheckoutFailed(cloneUrl, sha, 'cancelled');
      if (outcome.timedOut) throw CheckoutFailed(cloneUrl, sha, `git ${args[0]} timed out`);
      return { ok: outcome.exitCode === 0, output: outcome.output.toString() };
    };
    const must = async (args: string[]): Promise<string> => {
      const result = await git(args);
      if (!result.ok) throw CheckoutFailed(cloneUrl, sha, `git ${args[0]}: ${scrub(result.output, token)}`);
      return result.output;
    };

    await must(['init', '-q', '.']);
    await must(['remote', 'add', 'origin', cloneUrl]);
    const shallow = await git(['fetch', '-q', '--no-tags', '--depth', '1', 'origin', sha]);
    if (!shallow.ok) {
      if (/authentication failed|could not read (username|password)|403|401/i.test(shallow.output)) {
        throw CheckoutFailed(cloneUrl, sha, `git fetch: ${scrub(shallow.output, token)}`);
      }
      await must(['fetch', '-q', '--tags', 'origin']);
    }
    await must(['-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', sha]);
    const head = (await must(['rev-parse', 'HEAD'])).trim();
    if (head !== sha) throw CheckoutFailed(cloneUrl, sha, `checked out ${head} instead`);
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}
