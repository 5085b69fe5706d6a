import { approveCommand } from './approve.js';
import { auditCommand } from './audit.js';
import type { Command } from './command.js';
import { redeliverCommand } from './redeliver.js';
import { rollbackCommand } from './rollback.js';
import { serveCommand } from './serve.js';
import { startCommand } from './start.js';
import { workCommand } from './work.js';

export type { Command } from './command.js';

/** The registry of `shipgate` subcommands: adding one is one line here. */
export const COMMANDS: readonly Command[] = [
  startCommand,
  serveCommand,
  workCommand,
  redeliverCommand,
  approveCommand,
  rollbackCommand,
  auditCommand,
];
