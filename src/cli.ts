#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMMANDS, type Command } from './commands/index.js';
import { ConfigInvalid, isShipgateError, PortInUse } from './errors.js';

/** The package version, from the package.json above this file (src/ in a clone, dist/src/ when built). */
export function version(): string {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'shipgate' && pkg.version) return pkg.version;
    } catch {
      // not here: look one folder up
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    `shipgate ${version()}: an event-driven GitOps release gate`,
    '',
    'Usage: shipgate <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Options for every command:',
    '  --help, -h     the command’s usage, flags and an example',
    '  --debug        print the stack of an unexpected error',
    '  --version, -V  print the version',
    '',
    'Configuration comes from environment variables (and ./.env when present).',
    'New here? `shipgate demo` plays a whole release on this machine, no accounts needed.',
  ].join('\n');
}

function commandHelp(command: Command): string {
  const width = Math.max(0, ...(command.flags ?? []).map((f) => f.flag.length));
  return [
    `Usage: ${command.usage}`,
    '',
    `${command.summary[0]?.toUpperCase() ?? ''}${command.summary.slice(1)}.`,
    ...(command.flags?.length
      ? ['', 'Flags:', ...command.flags.map((f) => `  ${f.flag.padEnd(width)}  ${f.description}`)]
      : []),
    ...(command.env?.length ? ['', `Environment: ${command.env.join(', ')}`] : []),
    '',
    command.examples.length > 1 ? 'Examples:' : 'Example:',
    ...command.examples.map((e) => `  ${e}`),
  ].join('\n');
}

/**
 * The stacks of an error's whole cause chain. The innermost one says most: Node 24's
 * `fetch failed` carries no frames of its own, while its cause (`connect ECONNREFUSED`) does.
 */
function causeStacks(cause: unknown): string {
  let out = '';
  for (let e = cause, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    out += `\n${depth > 0 ? 'caused by: ' : ''}${e.stack ?? e.message}`;
  }
  return out;
}

/** One line for an error: what went wrong and what to do. The stack only with --debug. */
export function explain(
  err: unknown,
  command: Command | undefined,
  debug: boolean,
): { line: string; code: number } {
  if (ConfigInvalid.is(err)) return { line: `shipgate: ${err.message}`, code: 2 };
  const nodeCode = (err as { code?: string }).code;
  if (typeof nodeCode === 'string' && nodeCode.startsWith('ERR_PARSE_ARGS_')) {
    const usage = command ? ` (usage: ${command.usage})` : '';
    return { line: `shipgate: ${(err as Error).message}${usage}`, code: 2 };
  }
  if (nodeCode === 'EADDRINUSE') {
    const e = err as { address?: string; port?: number };
    return { line: `shipgate: ${PortInUse(e.address ?? 'this host', e.port ?? 0).message}`, code: 1 };
  }
  if (isShipgateError(err)) {
    const stack = debug ? causeStacks(err.cause) : '';
    return { line: `shipgate: ${err.message} (${err.code})${stack}`, code: 1 };
  }
  if (debug) return { line: `shipgate: ${(err as Error).stack ?? String(err)}`, code: 1 };
  const message = err instanceof Error ? err.message : String(err);
  return {
    line: `shipgate: ${message.split('\n')[0]} (run again with --debug for the details)`,
    code: 1,
  };
}

/** Runs the CLI; resolves to the exit code, or never for long-running commands. */
export async function main(argv: string[]): Promise<number | 'running'> {
  const debug = argv.includes('--debug');
  const [name, ...args] = argv.filter((a) => a !== '--debug');
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(version());
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = COMMANDS.find((c) => c.name === args[0]);
    console.log(topic ? commandHelp(topic) : help());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    console.error(`shipgate: unknown command ${JSON.stringify(name)}: run \`shipgate --help\` for the list`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(commandHelp(command));
    return 0;
  }
  try {
    return await command.run(args);
  } catch (err) {
    const { line, code } = explain(err, command, debug);
    console.error(line);
    return code;
  }
}

const code = await main(process.argv.slice(2));
if (code !== 'running') process.exit(code);
