import { parseArgs } from 'node:util';
import { apiBase, callApi, requireApiToken } from './api-client.js';
import type { Command } from './command.js';
import { readConfig } from './runtime.js';

/**
 * `shipgate approve <run> <env> --as <SlackUserId> [--reject] [--url http://host:port]`: the
 * fallback when Slack is down. It calls the running server's API (`POST /api/runs/:id/approvals`)
 * with SHIPGATE_API_TOKEN rather than writing to Redis itself, so the decision takes the same path
 * as a click: the `approval` worker applies the platform policy and records the audit. The token
 * is read from the environment (never argv, where `ps` would show it).
 */
export const approveCommand: Command = {
  name: 'approve',
  summary: 'approve (or --reject) a release waiting for an environment, when Slack is unavailable',
  usage:
    'shipgate approve <run-id> <env> --as <SlackUserId> [--reject] [--url http://127.0.0.1:$PORT]   (needs SHIPGATE_API_TOKEN)',
  flags: [
    {
      flag: '--as <SlackUserId>',
      description: 'who approves: a Slack user id the policy allows (e.g. U0123ABCD)',
    },
    { flag: '--reject', description: 'reject instead of approve (the run ends as rejected)' },
    { flag: '--url URL', description: 'the server (default SHIPGATE_URL, else http://127.0.0.1:$PORT)' },
  ],
  env: ['SHIPGATE_API_TOKEN', 'SHIPGATE_URL', 'PORT'],
  examples: ['shipgate approve 01JD6X5RZQ8M9V4T2K7N3P0A1B production --as U0123ALICE'],
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        as: { type: 'string' },
        reject: { type: 'boolean', default: false },
        url: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    const [runId, env, extra] = positionals;
    if (runId === undefined || env === undefined || extra !== undefined || values.as === undefined) {
      console.error(`Usage: ${approveCommand.usage}`);
      return 2;
    }
    const config = readConfig('cli');
    const token = requireApiToken(config, 'approve');
    const base = apiBase(config, values.url);
    const answer = await callApi<{
      result?: { outcome: string; status?: string; approvers?: string[]; runState?: string };
      jobId?: string;
      error?: { code: string; message: string };
    }>(base, token, `/api/runs/${encodeURIComponent(runId)}/approvals`, {
      method: 'POST',
      body: {
        env,
        decision: values.reject ? 'reject' : 'approve',
        slackUserId: values.as,
        via: 'cli',
      },
    });
    const response = { status: answer.status };
    const body = answer.body;
    if (response.status === 200 && body.result) {
      const r = body.result;
      const approvers = r.approvers?.length ? `; approvals so far: ${r.approvers.join(', ')}` : '';
      console.log(
        `${r.outcome}: request is ${r.status ?? 'unknown'}${r.runState ? `, run is ${r.runState}` : ''}${approvers}`,
      );
      return ['approved', 'rejected', 'recorded', 'duplicate'].includes(r.outcome) ? 0 : 1;
    }
    if (response.status === 202) {
      console.log(`queued as ${body.jobId}; no worker answered yet. Follow it with GET /api/runs/${runId}.`);
      return 0;
    }
    console.error(
      `shipgate: ${body.error?.message ?? `HTTP ${response.status}`}${body.error ? ` (${body.error.code})` : ''}`,
    );
    return 1;
  },
};
