import { App } from '@octokit/app';
import { Octokit } from '@octokit/core';
import { RedeliveryRequestFailed } from '../errors.js';
import { nextCursor } from './plan-redeliveries.js';
import { HookDeliveryListSchema, type HookDelivery } from './schema.js';

export interface HookDeliveriesPage {
  deliveries: HookDelivery[];
  nextCursor: string | undefined;
}

/** Talks to the two App webhook endpoints; decides nothing. */
export interface HookDeliveriesClient {
  listPage(cursor: string | undefined): Promise<HookDeliveriesPage>;
  redeliver(attemptId: number): Promise<void>;
}

export interface HookDeliveriesClientOptions {
  appId: string;
  privateKey: string;
  /** `config.github.apiUrl` (GitHub Enterprise Server, or a stand-in in tests). */
  apiUrl: string;
  /** Per request. @defaultValue 10000 */
  timeoutMs?: number;
  /** @defaultValue 100 (GitHub's maximum) */
  perPage?: number;
}

function statusOf(err: unknown): number | string {
  const status = (err as { status?: unknown }).status;
  return typeof status === 'number' ? status : ((err as Error).name ?? 'error');
}

/** Authenticates as the App (a JWT signed with the private key, minted by @octokit/app). */
export function createHookDeliveriesClient(options: HookDeliveriesClientOptions): HookDeliveriesClient {
  const app = new App({
    appId: options.appId,
    privateKey: options.privateKey,
    Octokit: Octokit.defaults({ baseUrl: options.apiUrl, userAgent: 'shipgate-redelivery' }),
  });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const perPage = options.perPage ?? 100;
  return {
    async listPage(cursor) {
      let response;
      try {
        response = await app.octokit.request('GET /app/hook/deliveries', {
          per_page: perPage,
          ...(cursor === undefined ? {} : { cursor }),
          request: { signal: AbortSignal.timeout(timeoutMs) },
        });
      } catch (err) {
        throw RedeliveryRequestFailed('GET /app/hook/deliveries', statusOf(err), { cause: err });
      }
      const parsed = HookDeliveryListSchema.safeParse(response.data);
      if (!parsed.success) {
        throw RedeliveryRequestFailed('GET /app/hook/deliveries', 'unexpected response shape');
      }
      return { deliveries: parsed.data, nextCursor: nextCursor(response.headers.link) };
    },
    async redeliver(attemptId) {
      try {
        await app.octokit.request('POST /app/hook/deliveries/{delivery_id}/attempts', {
          delivery_id: attemptId,
          request: { signal: AbortSignal.timeout(timeoutMs) },
        });
      } catch (err) {
        throw RedeliveryRequestFailed(`POST /app/hook/deliveries/${attemptId}/attempts`, statusOf(err), {
          cause: err,
        });
      }
    },
  };
}
