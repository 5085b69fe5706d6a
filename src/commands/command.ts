/** A `shipgate` subcommand. `run` resolves to an exit code, or `'running'` for servers and workers. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number | 'running'>;
}
