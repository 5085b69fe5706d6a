/**
 * Child process for the crash test: commits to the env repo and SIGKILLs itself after the
 * commit exists locally but before the push, as a worker killed mid-job would die.
 * argv: <remote url> <work dir> <run id>
 */
import { GitCli } from '../../../src/git/git-cli.js';
import { commitToEnvRepo } from '../../../src/gitops/commit-to-env-repo.js';

const [url, workDir, runId] = process.argv.slice(2) as [string, string, string];
await commitToEnvRepo(
  {
    git: new GitCli(),
    remote: { url },
    workDir,
    hooks: {
      beforePush: async (commit) => {
        process.stdout.write(`${commit}\n`);
        process.kill(process.pid, 'SIGKILL');
        await new Promise(() => undefined);
      },
    },
  },
  {
    path: 'apps/web/staging',
    app: 'web',
    env: 'staging',
    files: [{ name: 'rollout-web.yaml', content: `kind: Rollout\nrun: ${runId}\n` }],
    trailers: {
      shipgateRun: runId,
      sourceRepo: 'acme/web',
      sourceCommit: 'c'.repeat(40),
      image: 'ghcr.io/acme/web:5',
      gates: 'tests=passed',
    },
  },
);
