import { parseArgs } from 'node:util';
import { ConfigInvalid } from '../errors.js';
import type { Command } from './command.js';
import { readConfig } from './runtime.js';

/**
 * `shipgate token create <name> --scope read|approve|rollback|admin`, `token list`,
 * `token revoke <name>`: named API tokens, through the running server's `/api/tokens` with
 * SHIPGATE_API_TOKEN (from the environment, never argv), like `shipgate audit`. The new
 * token is printed once, on stdout alone, so it can be piped into a secret store.
 */
export const tokenCommand: Command = {
  name: 'token',
  summary: 'create, list and revoke named, scoped API tokens (shown once, stored hashed)',
  usage:
    'shipgate token create <name> --scope read|approve|rollback|admin | token list | token revoke <name>   [--url http://127.0.0.1:$PORT] (needs SHIPGATE_API_TOKEN)',
  flags: [
    { flag: '--scope <scope>', description: 'read, approve, rollback or admin (create only)' },
    { flag: '--url <url>', description: 'the running Shipgate server. Default http://127.0.0.1:$PORT' },
  ],
  examples: [
    'shipgate token create grafana --scope read',
    'shipgate token list',
    'shipgate token revoke grafana',
  ],
  env: ['SHIPGATE_API_TOKEN', 'PORT'],
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: { scope: { type: 'string' }, url: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    const [action, name] = positionals;
    const valid =
      (action === 'create' && name !== undefined && values.scope !== undefined && positionals.length === 2) ||
      (action === 'list' && positionals.length === 1) ||
      (action === 'revoke' && name !== undefined && positionals.length === 2);
    if (!valid) {
      console.error(`Usage: ${tokenCommand.usage}`);
      return 2;
    }
    const config = readConfig('cli');
    if (config.apiToken === undefined) {
      throw ConfigInvalid('SHIPGATE_API_TOKEN', 'is required for shipgate token (it calls the HTTP API)');
    }
    const base = (values.url ?? `http://127.0.0.1:${config.port}`).replace(/\/+$/, '');
    const headers = { authorization: `Bearer ${config.apiToken}`, 'content-type': 'application/json' };
    const signal = AbortSignal.timeout(30_000);
    const response =
      action === 'create'
        ? await fetch(`${base}/api/tokens`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ name, scope: values.scope }),
            signal,
          })
        : action === 'list'
          ? await fetch(`${base}/api/tokens`, { headers, signal })
          : await fetch(`${base}/api/tokens/${encodeURIComponent(name!)}`, {
              method: 'DELETE',
              headers,
              signal,
            });
    const body = (await response.json().catch(() => ({}))) as {
      token?: string;
      tokens?: Array<{ name: string; scope: string; createdAt: string; createdBy: string }>;
      error?: { code: string; message: string };
    };
    if (response.status >= 300) {
      console.error(
        `shipgate: ${body.error?.message ?? `HTTP ${response.status}`}${body.error ? ` (${body.error.code})` : ''}`,
      );
      return 1;
    }
    if (action === 'create') {
      console.error(`Token ${name} (${values.scope}) created. It is shown this once; store it now:`);
      process.stdout.write(`${body.token}\n`);
    } else if (action === 'list') {
      for (const t of body.tokens ?? []) {
        process.stdout.write(`${t.name}\t${t.scope}\t${t.createdAt}\t${t.createdBy}\n`);
      }
    } else {
      console.error(`Token ${name} revoked.`);
    }
    return 0;
  },
};
