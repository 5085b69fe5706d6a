import { PIPELINE_CONFIG_FILE } from '../pipeline/parse-pipeline-config.js';
import { POLICY_FILE_PATH } from '../policy/schema.js';
import type { Command } from './command.js';

const USAGE =
  'shipgate validate [file…] [--kind pipeline|policy] [--render [--policy <policy.yml> --repo <owner/name>]]';

/**
 * `shipgate validate`: checks `.shipgate.yml` or `shipgate/policy.yml` on the author's machine
 * with the service's own parsers, so the line, column and words match the check run's
 * annotations. `--render` goes one step further for a `.shipgate.yml`: it renders every
 * environment's manifests with the service's renderer and validator (as a pull-request preview
 * does: nothing pinned), and with `--policy`/`--repo` also applies that policy's grant.
 */
export const validateCommand: Command = {
  name: 'validate',
  summary: 'check .shipgate.yml or a policy file locally, with line and column, as the service would',
  usage: `${USAGE}
  Without files, validates ./${PIPELINE_CONFIG_FILE} (or ./${POLICY_FILE_PATH} in an env repo).
  The kind comes from the file name (.shipgate.yml, policy.yml); --kind overrides it.
  Exits 0 when every file is valid, 1 when any is not, 2 on a usage mistake.`,
  examples: ['shipgate validate .shipgate.yml --render', 'shipgate validate shipgate/policy.yml'],
  async run(args) {
    // The renderer, the manifest validator (ajv and the CRD schemas) and the GitHub client are
    // loaded here: every command imports this registry entry, `shipgate serve` included.
    const { validateFiles } = await import('./validate-files.js');
    return validateFiles(args, USAGE);
  },
};
