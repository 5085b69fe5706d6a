import { spawn } from 'node:child_process';

/** Runs a program (never a shell) with a timeout and a cap on stdout; for kustomize and kubectl. */

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
}

const STDERR_LIMIT = 32 * 1024;

export function runBoundedProcess(
  command: string,
  args: readonly string[],
  options: BoundedProcessOptions,
): Promise<BoundedProcessResult> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout kills anything the renderer started too.
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
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
