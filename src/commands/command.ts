/** One flag of a command, for its `--help`. */
export interface CommandFlag {
  /** As typed, with its value: `--state <state>`. */
  flag: string;
  description: string;
}

/** A `shipgate` subcommand. `run` resolves to an exit code, or `'running'` for servers and workers. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Listed by `shipgate <command> --help`. */
  flags?: readonly CommandFlag[];
  /** At least one worked example, shown by `--help`. */
  examples: readonly string[];
  /** Environment variables the command reads, shown by `--help`. */
  env?: readonly string[];
  run(args: string[]): Promise<number | 'running'>;
}
