import { spawn } from 'node:child_process';

/**
 * Runs a program (never a shell) in its own process group, with a timeout and a cap on stdout:
 * for git, kustomize and kubectl. On timeout or overflow the whole group is killed, so helpers
 * the program started (git-remote-https, ssh, plugins) cannot keep its pipes open.
 */

export interface BoundedProcessResult {
  stdout: string;
  stderr: string;
  exitCode: number;
  /** `timeout` or `output-limit` when Shipgate killed the process. */
  killedFor?: 'timeout' | 'output-limit';
}

export interface BoundedProcessOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  maxOutputBytes: number;
  /** Written to stdin, then stdin is closed. @defaultValue none (stdin closed at once) */
  input?: string | Buffer | undefined;
}

const STDERR_LIMIT = 32 * 1024;

export function runBoundedProcess(
  command: string,
  args: readonly string[],
  options: BoundedProcessOptions,
): Promise<BoundedProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    const out: Buffer[] = [];
    let outBytes = 0;
    let stderr = '';
    let killedFor: BoundedProcessResult['killedFor'];
    const timer = setTimeout(() => {
      killedFor = 'timeout';
      killGroup();
    }, options.timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > options.maxOutputBytes) {
        killedFor ??= 'output-limit';
        killGroup();
        return;
      }
      out.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < STDERR_LIMIT) stderr += chunk.toString('utf8');
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.stdin.on('error', () => {
      // The child may exit before reading all input; its exit code says what happened.
    });
    child.stdin.end(options.input);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: stderr.slice(0, STDERR_LIMIT),
        exitCode: code ?? -1,
        ...(killedFor ? { killedFor } : {}),
      });
    });
  });
}
