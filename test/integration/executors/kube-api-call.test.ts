/**
 * kubeCall's timeout cancels the request it times out (the attempt's signal reaches
 * client-node's fetch), instead of leaving it running behind a race.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeCall, withSignal } from '../../../src/executors/kube-api-call.js';
import { closeServer, listenOnFreePort } from '../../../sandbox/listen.js';

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function hangingApiServer() {
  const open = new Set<IncomingMessage>();
  const closed: string[] = [];
  const server = createServer((req: IncomingMessage, _res: ServerResponse) => {
    open.add(req);
    // Never answers; records when the client gives up on the request.
    req.socket.on('close', () => {
      open.delete(req);
      closed.push(req.url ?? '');
    });
  });
  const url = await listenOnFreePort(server);
  close = async () => {
    server.closeAllConnections();
    await closeServer(server);
  };
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return { core: kc.makeApiClient(CoreV1Api), open, closed };
}

describe('kubeCall', () => {
  it('times out each attempt, cancels its request, retries, then fails with the reason', async () => {
    const { core, open, closed } = await hangingApiServer();
    const started = Date.now();
    const err = await kubeCall(
      'list Pods',
      (signal) => core.listNamespacedPod({ namespace: 'ci' }, withSignal(signal)),
      { timeoutMs: 150, retries: 1 },
    ).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('SHIPGATE_E_EXECUTOR_FAILED');
    expect((err as Error).message).toContain('list Pods: timed out after 150 ms');
    expect(Date.now() - started).toBeLessThan(5_000);
    // Both attempts reached the server and both were cancelled by the client.
    await expect.poll(() => closed.length).toBe(2);
    expect(open.size).toBe(0);
  });

  it("the caller's abort ends the call at once, with the caller's reason", async () => {
    const { core, closed } = await hangingApiServer();
    const controller = new AbortController();
    const call = kubeCall(
      'read Job',
      (signal) => core.listNamespacedPod({ namespace: 'ci' }, withSignal(signal)),
      { timeoutMs: 10_000, signal: controller.signal },
    ).catch((e: unknown) => e);
    setTimeout(() => controller.abort(new Error('lease lost')), 100);
    expect(((await call) as Error).message).toBe('lease lost');
    await expect.poll(() => closed.length).toBe(1);
  });
});
