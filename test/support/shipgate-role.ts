/**
 * A Shipgate process for tests that need more than one: `serve` or `work`, assembled exactly as
 * `shipgate serve` and `shipgate work` assemble it, configured by the environment the test hands
 * it. What the CLI cannot take from variables comes from two test-only ones:
 * - `SHIPGATE_TEST_SCANNER_DIR`: the stand-in scanners' folder, mounted into the gate sandbox;
 * - GitHub writes are not spaced (the stand-in does not ask for a second between them).
 *
 * It prints `READY <port>` once it serves (or its workers run), and stops on SIGTERM as the
 * real commands do. Start it with `startShipgateRole` (it runs through tsx's loader).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');

export type ShipgateRole = 'serve' | 'work';

export interface ShipgateRoleProcess {
  child: ChildProcess;
  /** The port it listens on (the API and webhooks for `serve`, the ops server for `work`). */
  port: number;
  /** Everything it wrote to stdout and stderr so far (for a failing test's message). */
  output(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
}

export async function startShipgateRole(
  role: ShipgateRole,
  env: Record<string, string>,
  readyTimeoutMs = 60_000,
): Promise<ShipgateRoleProcess> {
  const loader = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', loader, fileURLToPath(import.meta.url), role], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`shipgate ${role} not ready in ${readyTimeoutMs} ms:\n${output.slice(-4000)}`));
    }, readyTimeoutMs);
    const onData = () => {
      const m = /READY (\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`shipgate ${role} exited with ${code} before it was ready:\n${output.slice(-4000)}`));
    });
  });
  return {
    child,
    port,
    output: () => output,
    async stop(graceMs = 40_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

async function main(role: ShipgateRole): Promise<void> {
  const { loadConfig } = await import('../../src/config.js');
  const { addConnectionShutdown, openRuntime } = await import('../../src/commands/runtime.js');
  const runtime = await openRuntime(loadConfig(process.env, role), { embedRedis: false });
  if (role === 'serve') {
    const { startHttp } = await import('../../src/commands/start-http.js');
    const app = await startHttp(runtime);
    addConnectionShutdown(runtime);
    runtime.shutdown.installSignalHandlers();
    const address = app.server.address();
    process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
    return;
  }
  const { startWorkers } = await import('../../src/commands/start-workers.js');
  const scanners = process.env.SHIPGATE_TEST_SCANNER_DIR;
  const connections = await startWorkers(runtime, {
    engineTuning: {
      github: { spaceWrites: false },
      ...(scanners
        ? { executor: { local: { mounts: [{ source: scanners, target: scanners, writable: true }] } } }
        : {}),
    },
  });
  addConnectionShutdown(runtime, connections);
  runtime.shutdown.installSignalHandlers();
  process.stdout.write('READY 0\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const role = process.argv[2];
  if (role !== 'serve' && role !== 'work') {
    process.stderr.write('usage: shipgate-role.ts serve|work\n');
    process.exit(2);
  }
  main(role).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
