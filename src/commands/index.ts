import { approveCommand } from './approve.js';
import { auditCommand } from './audit.js';
import type { Command } from './command.js';
import { initCommand } from './init.js';
import { demoCommand } from './demo.js';
import { redeliverCommand } from './redeliver.js';
import { rollbackCommand } from './rollback.js';
import { runsCommand } from './runs.js';
import { serveCommand } from './serve.js';
import { setupCommand } from './setup.js';
import { startCommand } from './start.js';
import { validateCommand } from './validate.js';
import { statusCommand } from './status.js';
import { tokenCommand } from './token.js';
import { workCommand } from './work.js';

export type { Command } from './command.js';

/** The registry of `shipgate` subcommands: adding one is one line here. */
export const COMMANDS: readonly Command[] = [
  demoCommand,
  setupCommand,
  startCommand,
  serveCommand,
  workCommand,
  runsCommand,
  statusCommand,
  approveCommand,
  rollbackCommand,
  initCommand,
  validateCommand,
  redeliverCommand,
  auditCommand,
  tokenCommand,
];
