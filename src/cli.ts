#!/usr/bin/env node
import { COMMANDS } from './commands/index.js';
import { ConfigInvalid, isShipgateError } from './errors.js';

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: shipgate <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Configuration comes from environment variables (and ./.env when present).',
    'Run `shipgate <command> --help` for a command’s usage.',
  ].join('\n');
}

/** Runs the CLI; resolves to the exit code, or never for long-running commands. */
export async function main(argv: string[]): Promise<number | 'running'> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    console.error(`shipgate: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`Usage: ${command.usage}\n\n${command.summary}`);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (err) {
    // One line, naming the variable; never a stack trace for a configuration mistake.
    if (ConfigInvalid.is(err)) {
      console.error(`shipgate: ${err.message}`);
      return 2;
    }
    if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`shipgate: ${(err as Error).message}\nUsage: ${command.usage}`);
      return 2;
    }
    if (isShipgateError(err)) {
      console.error(`shipgate: ${err.message} (${err.code})`);
      return 1;
    }
    console.error(`shipgate: ${(err as Error).stack ?? String(err)}`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code !== 'running') process.exit(code);
