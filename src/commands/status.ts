import { parseArgs } from 'node:util';
import type { GetRunResponse } from '../api/runs-routes.js';
import { ConfigInvalid } from '../errors.js';
import { isTerminal } from '../runs/run-state-machine.js';
import { apiBase, callApi, expectOk, requireApiToken } from './api-client.js';
import type { Command } from './command.js';
import { eventLine, runHeader } from './run-format.js';
import { readConfig } from './runtime.js';

/**
 * `shipgate status <run>`: one run and its events, from `GET /api/runs/:id`. With `--watch` it
 * follows the run, printing each new event and state as it happens, and exits when the run
 * ends: 0 when it succeeded, 1 otherwise.
 */
export const statusCommand: Command = {
  name: 'status',
  summary: 'show one run and its events; --watch follows it live until it ends',
  usage: 'shipgate status <run-id> [--watch] [--interval <seconds>] [--url URL]',
  flags: [
    { flag: '--watch', description: 'follow the run until it ends (exit 0 when it succeeded, else 1)' },
    { flag: '--interval <seconds>', description: 'how often --watch asks (default 1)' },
    { flag: '--url URL', description: 'the server (default SHIPGATE_URL, else http://127.0.0.1:$PORT)' },
  ],
  env: ['SHIPGATE_API_TOKEN', 'SHIPGATE_URL', 'PORT'],
  examples: ['shipgate status 01JD6X5RZQ8M9V4T2K7N3P0A1B --watch'],
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        watch: { type: 'boolean', default: false },
        interval: { type: 'string' },
        url: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    const [runId, extra] = positionals;
    if (runId === undefined || extra !== undefined) {
      console.error(`Usage: ${statusCommand.usage}`);
      return 2;
    }
    const intervalMs = values.interval === undefined ? 1000 : Number(values.interval) * 1000;
    if (!Number.isFinite(intervalMs) || intervalMs < 100) {
      throw ConfigInvalid('--interval', `must be a number of seconds, at least 0.1 (got ${values.interval})`);
    }
    const config = readConfig('cli');
    const token = requireApiToken(config, 'status');
    const base = apiBase(config, values.url);
    const path = `/api/runs/${encodeURIComponent(runId)}`;
    const fetchRun = async () =>
      expectOk(await callApi<GetRunResponse>(base, token, path), `reading run ${runId}`);

    let { run, events } = await fetchRun();
    console.log(runHeader(run));
    for (const e of events) console.log(eventLine(e));
    if (!values.watch) return 0;
    let seen = events.length === 0 ? 0 : events[events.length - 1]!.seq;
    let lastState = run.state;
    while (!isTerminal(run.state)) {
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
      ({ run, events } = await fetchRun());
      for (const e of events.filter((x) => x.seq > seen)) console.log(eventLine(e));
      if (events.length > 0) seen = Math.max(seen, events[events.length - 1]!.seq);
      if (run.state !== lastState) {
        lastState = run.state;
        console.log(`→ ${run.state}${run.currentEnv ? ` (${run.currentEnv})` : ''}`);
      }
    }
    console.log(`Run ${run.id} ${run.state}${run.reason ? `: ${run.reason}` : ''}.`);
    return run.state === 'succeeded' ? 0 : 1;
  },
};
