import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { createMetrics } from '../../../src/metrics/create-metrics.js';
import { createHookDeliveriesClient } from '../../../src/redelivery/hook-deliveries-client.js';
import { redeliveryKeys, sweepMissedDeliveries } from '../../../src/redelivery/sweep-missed-deliveries.js';
import {
  startHookDeliveriesStandIn,
  type HookDeliveriesStandIn,
} from '../../../sandbox/github-hook-deliveries-stand-in.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../support/redis.js';
import { LogCapture } from './ingress-harness.js';

const APP_ID = '424242';
const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

let redis: Redis;
let standIn: HookDeliveriesStandIn;
let prefix: string;
beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(() => redis.disconnect());
beforeEach(async () => {
  prefix = uniquePrefix('redeliver');
  standIn = await startHookDeliveriesStandIn({ appId: APP_ID, publicKeyPem: publicKey });
});
afterEach(async () => {
  await standIn.close();
  await deleteKeysWithPrefix(prefix);
});

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');
const base = { installation_id: 1, repository_id: 186853002 };

function sweep(extra: Partial<Parameters<typeof sweepMissedDeliveries>[0]> = {}) {
  const log = new LogCapture();
  const metrics = createMetrics({ processMetrics: false });
  const client = createHookDeliveriesClient({ appId: APP_ID, privateKey, apiUrl: standIn.baseUrl });
  const run = sweepMissedDeliveries({
    client,
    redis,
    prefix,
    logger: createLogger('info', log),
    metrics,
    ...extra,
  });
  return { run, log, metrics };
}

describe('missed-delivery sweep against a stand-in of the App webhook endpoints', () => {
  it('redelivers exactly the failed guids, once each, paging through the Link header', async () => {
    const failedPush = randomUUID();
    const failedTwice = randomUUID();
    const recovered = randomUUID();
    const timedOut = randomUUID();
    // 250 successful deliveries spread the interesting ones over three pages of 100.
    for (let i = 0; i < 250; i++) {
      standIn.add({
        ...base,
        guid: randomUUID(),
        delivered_at: minutesAgo(50 - i / 10),
        status_code: 202,
        event: 'push',
        action: null,
      });
    }
    standIn.add({
      ...base,
      guid: failedPush,
      delivered_at: minutesAgo(45),
      status_code: 503,
      event: 'push',
      action: null,
    });
    standIn.add({
      ...base,
      guid: failedTwice,
      delivered_at: minutesAgo(40),
      status_code: 0,
      event: 'pull_request',
      action: 'opened',
    });
    standIn.add({
      ...base,
      guid: failedTwice,
      delivered_at: minutesAgo(39),
      status_code: 503,
      event: 'pull_request',
      action: 'opened',
      redelivery: true,
    });
    standIn.add({
      ...base,
      guid: recovered,
      delivered_at: minutesAgo(30),
      status_code: 503,
      event: 'push',
      action: null,
    });
    standIn.add({
      ...base,
      guid: recovered,
      delivered_at: minutesAgo(29),
      status_code: 202,
      event: 'push',
      action: null,
      redelivery: true,
    });
    standIn.add({
      ...base,
      guid: timedOut,
      delivered_at: minutesAgo(20),
      status_code: 0,
      event: 'check_run',
      action: 'rerequested',
    });
    // Failed but not worth redelivering: an event Shipgate ignores, and one older than the window.
    standIn.add({
      ...base,
      guid: randomUUID(),
      delivered_at: minutesAgo(10),
      status_code: 503,
      event: 'star',
      action: 'created',
    });
    standIn.add({
      ...base,
      guid: randomUUID(),
      delivered_at: minutesAgo(300),
      status_code: 503,
      event: 'push',
      action: null,
    });
    // Newest entries sort first in the listing regardless of insertion order: reorder by time.
    standIn.deliveries.sort((a, b) => Date.parse(a.delivered_at) - Date.parse(b.delivered_at));
    standIn.deliveries.forEach((d, i) => (d.id = 5_000_000 + i));

    const { run, metrics } = sweep({ since: new Date(Date.now() - 60 * 60_000) });
    const result = await run;

    expect(standIn.unauthorized).toBe(0);
    expect(result.pages).toBeGreaterThanOrEqual(3);
    expect(result.complete).toBe(true);
    expect(new Set(result.redelivered)).toEqual(new Set([failedPush, failedTwice, timedOut]));
    expect(result.redelivered).toHaveLength(3);
    // The newest attempt of a guid is the one redelivered.
    const ids = standIn.redeliveryRequests;
    expect(ids).toHaveLength(3);
    expect(ids).toContain(standIn.deliveries.find((d) => d.guid === failedTwice && d.redelivery)!.id);
    expect(ids).not.toContain(standIn.deliveries.find((d) => d.guid === failedTwice && !d.redelivery)!.id);
    expect(await redis.get(redeliveryKeys(prefix).checkpoint)).toBe(result.checkpoint);
    expect(await metrics.registry.getSingleMetricAsString('shipgate_redeliveries_total')).toContain(
      'outcome="requested"} 3',
    );
  });

  it('is bounded per guid across sweeps, then gives up, logs it once and counts it', async () => {
    const guid = randomUUID();
    standIn.add({
      ...base,
      guid,
      delivered_at: minutesAgo(5),
      status_code: 503,
      event: 'push',
      action: null,
    });
    const limits = { maxAttemptsPerGuid: 2, overlapMs: 60_000 };
    const results = [];
    const logs: LogCapture[] = [];
    let giveUps = '';
    for (let i = 0; i < 4; i++) {
      // Each redelivery the stand-in records fails again (a new attempt, "now").
      const { run, log, metrics } = sweep({ limits, since: new Date(Date.now() - 3_600_000) });
      results.push(await run);
      logs.push(log);
      giveUps += await metrics.registry.getSingleMetricAsString('shipgate_redelivery_give_ups_total');
    }
    expect(results.map((r) => r.redelivered.length)).toEqual([1, 1, 0, 0]);
    expect(results.map((r) => r.gaveUp.length)).toEqual([0, 0, 1, 0]);
    expect(standIn.redeliveryRequests).toHaveLength(2);
    expect(logs.map((l) => l.text().includes('giving up')).filter(Boolean)).toHaveLength(1);
    expect(giveUps).toContain('shipgate_redelivery_give_ups_total 1');
  });

  it('continues from the checkpoint: a second sweep does not redeliver what the first one did', async () => {
    standIn.add({
      ...base,
      guid: randomUUID(),
      delivered_at: minutesAgo(30),
      status_code: 503,
      event: 'create',
      action: null,
    });
    // A redelivery that succeeds this time.
    const succeed = (original: { guid: string }, s: HookDeliveriesStandIn) => {
      s.add({
        ...base,
        guid: original.guid,
        delivered_at: new Date().toISOString(),
        status_code: 202,
        event: 'create',
        action: null,
        redelivery: true,
      });
    };
    await standIn.close();
    standIn = await startHookDeliveriesStandIn({
      appId: APP_ID,
      publicKeyPem: publicKey,
      onRedeliver: succeed,
    });
    standIn.add({
      ...base,
      guid: randomUUID(),
      delivered_at: minutesAgo(30),
      status_code: 503,
      event: 'create',
      action: null,
    });

    const first = await sweep().run;
    expect(first.redelivered).toHaveLength(1);
    const second = await sweep().run;
    expect(second.redelivered).toHaveLength(0);
    expect(Date.parse(second.since)).toBeGreaterThan(Date.parse(first.since));
    expect(standIn.redeliveryRequests).toHaveLength(1);
  });

  it('runs one sweep at a time', async () => {
    const keys = redeliveryKeys(prefix);
    await redis.set(keys.lock, 'someone-else', 'PX', 10_000);
    const result = await sweep().run;
    expect(result.skipped).toBe('locked');
    expect(standIn.listRequests).toBe(0);
  });

  it('is refused by the stand-in without a valid App JWT', async () => {
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const client = createHookDeliveriesClient({
      appId: APP_ID,
      privateKey: other.privateKey,
      apiUrl: standIn.baseUrl,
    });
    await expect(client.listPage(undefined)).rejects.toMatchObject({
      code: 'SHIPGATE_E_REDELIVERY_REQUEST_FAILED',
    });
    expect(standIn.unauthorized).toBe(1);
  });
});
