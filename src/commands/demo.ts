import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from './command.js';

/** The package root: the folder above this file holding Shipgate's package.json. */
function packageRoot(): string | undefined {
  for (let dir = import.meta.dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'shipgate')
      return dir;
  }
  return undefined;
}

/**
 * `shipgate demo`: plays a release end to end on this machine. The driver and the simulators
 * live in `sandbox/`, which a clone has and an installed package or image does not: production
 * code never imports them, so this command loads the driver only when it is there.
 */
export const demoCommand: Command = {
  name: 'demo',
  summary: 'play a whole release on this machine (simulated GitHub, Argo CD, cluster, Slack): no accounts',
  usage: 'shipgate demo [--yes] [--keep] [--dir .shipgate/demo] [--verbose]',
  flags: [
    { flag: '--yes', description: 'approve by itself and run unattended; exit 0 only if every stage passed' },
    { flag: '--keep', description: 'leave everything running at the end, until Ctrl-C' },
    {
      flag: '--dir <path>',
      description: 'where the git repos and data go (default .shipgate/demo, wiped first)',
    },
    { flag: '--verbose', description: 'show Shipgate’s own logs too' },
  ],
  examples: ['npm run demo', 'shipgate demo --yes'],
  async run(args) {
    const root = packageRoot();
    const script = root === undefined ? undefined : path.join(root, 'sandbox', 'demo.ts');
    if (script === undefined || !existsSync(script)) {
      console.error(
        'shipgate: the demo needs a clone of the Shipgate repository (its sandbox/ folder holds the simulators): git clone <repo> && cd shipgate && npm ci && npm run demo',
      );
      return 1;
    }
    // Under tsx (npm run demo) the driver loads in this process; from the built bin, through tsx.
    if (import.meta.url.endsWith('.ts')) {
      const driver = (await import(pathToFileURL(script).href)) as { demoMain(a: string[]): Promise<number> };
      return driver.demoMain(args);
    }
    const tsx = path.join(root!, 'node_modules', '.bin', 'tsx');
    if (!existsSync(tsx)) {
      console.error('shipgate: the demo runs through tsx: run `npm ci` in the clone first');
      return 1;
    }
    const child = spawn(tsx, [script, ...args], { stdio: 'inherit' });
    // Ctrl-C reaches the child too (same terminal process group); wait for it to clean up.
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    const code = await new Promise<number>((resolve) =>
      child.once('exit', (c, sig) => resolve(c ?? (sig === 'SIGINT' ? 130 : 1))),
    );
    process.off('SIGINT', ignore);
    return code;
  },
};
