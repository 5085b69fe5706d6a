import { parseArgs } from 'node:util';
import type { ListRunsResponse } from '../api/runs-routes.js';
import { apiBase, callApi, expectOk, requireApiToken } from './api-client.js';
import type { Command } from './command.js';
import { runsTable } from './run-format.js';
import { readConfig } from './runtime.js';

/** `shipgate runs`: the newest runs, from the server's `GET /api/runs`, with its filters. */
export const runsCommand: Command = {
  name: 'runs',
  summary: 'list runs, newest first (filters: repo, state, kind)',
  usage:
    'shipgate runs [--repo owner/name] [--state <state>] [--kind release|pr|rollback] [--limit N] [--json] [--url URL]',
  flags: [
    { flag: '--repo owner/name', description: 'only runs of this app repository' },
    {
      flag: '--state <state>',
      description: 'only runs in this state (e.g. awaiting-approval, deploying, succeeded, failed)',
    },
    { flag: '--kind <kind>', description: 'release, pr or rollback' },
    { flag: '--limit N', description: 'how many (default 20, at most 100)' },
    { flag: '--json', description: 'print the API answer as JSON' },
    { flag: '--url URL', description: 'the server (default SHIPGATE_URL, else http://127.0.0.1:$PORT)' },
  ],
  env: ['SHIPGATE_API_TOKEN', 'SHIPGATE_URL', 'PORT'],
  examples: ['shipgate runs --state awaiting-approval', 'shipgate runs --repo acme/web --limit 5'],
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        repo: { type: 'string' },
        state: { type: 'string' },
        kind: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean', default: false },
        url: { type: 'string' },
      },
      strict: true,
    });
    const config = readConfig('cli');
    const token = requireApiToken(config, 'runs');
    const base = apiBase(config, values.url);
    const query = new URLSearchParams();
    for (const key of ['repo', 'state', 'kind', 'limit'] as const) {
      const value = values[key];
      if (value !== undefined) query.set(key, value);
    }
    const qs = query.size > 0 ? `?${query.toString()}` : '';
    const page = expectOk(await callApi<ListRunsResponse>(base, token, `/api/runs${qs}`), 'listing runs');
    if (values.json) {
      console.log(JSON.stringify(page, null, 2));
      return 0;
    }
    if (page.runs.length === 0) {
      console.log('No runs match.');
      return 0;
    }
    console.log(runsTable(page.runs));
    if (page.nextCursor !== null)
      console.log(`… more: add --limit, or GET /api/runs?cursor=${page.nextCursor}`);
    return 0;
  },
};
