import {
  copyFileSync,
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface FakeScannerBehaviour {
  /** @defaultValue 'report' */
  behaviour?: 'report' | 'crash' | 'no-report' | 'truncated' | 'huge' | 'hang';
  /** Fixture report to write. */
  fixture?: string;
  exitCode?: number;
  /** Size of a 'huge' report. @defaultValue 51 */
  megabytes?: number;
}

export interface FakeScanners {
  /** Put first on the executor's PATH. */
  binDir: string;
  configure(config: { trivy?: FakeScannerBehaviour; zap?: FakeScannerBehaviour }): void;
  calls(): { tool: string; args: string[]; cwd: string; files: string[]; env: string[] }[];
  cleanup(): void;
}

/** Copies the stand-in `trivy` and `zap-baseline.py` into a fresh bin directory. */
export function installFakeScanners(): FakeScanners {
  const binDir = mkdtempSync(path.join(tmpdir(), 'shipgate-fake-scanners-'));
  // Sandboxed gates run as an unprivileged uid: the stand-ins must be reachable and may log here.
  chmodSync(binDir, 0o777);
  for (const file of ['trivy', 'zap-baseline.py', 'fake-scanner.cjs']) {
    copyFileSync(path.join(HERE, file), path.join(binDir, file));
    chmodSync(path.join(binDir, file), 0o755);
  }
  const calls = path.join(binDir, 'calls.jsonl');
  return {
    binDir,
    configure: (config) => {
      // Sandboxed gates see the PATH folders but not the rest of the host: the fixture reports
      // travel with the stand-ins, into this bin directory.
      const visible = { ...config };
      for (const tool of ['trivy', 'zap'] as const) {
        const fixture = config[tool]?.fixture;
        if (fixture === undefined) continue;
        const copy = path.join(binDir, `${tool}-fixture${path.extname(fixture)}`);
        copyFileSync(fixture, copy);
        chmodSync(copy, 0o644);
        visible[tool] = { ...config[tool], fixture: copy };
      }
      writeFileSync(path.join(binDir, 'fake-scanner.json'), JSON.stringify(visible));
      rmSync(calls, { force: true });
    },
    calls: () =>
      existsSync(calls)
        ? readFileSync(calls, 'utf8')
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as ReturnType<FakeScanners['calls']>[number])
        : [],
    cleanup: () => rmSync(binDir, { recursive: true, force: true }),
  };
}
