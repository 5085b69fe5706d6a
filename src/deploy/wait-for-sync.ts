/**
 * The one place a deploy asks Argo CD to sync a revision and waits for the verdict. Kept
 * behind this function so how the wait is done (the application watch stream, with a slow poll
 * only while it is down) changes here only.
 *
 * Argo CD outages inside the window are waited out; past it they surface as a retryable
 * error rather than a failed check, so an outage never reverts a good commit.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { operationTargets } from '../argocd/argocd-client.js';
import { ArgoCdUnavailable, DeploySyncTimeout, isRetryable, ShipgateError } from '../errors.js';
import type { DeployKit } from './deploy-kit.js';
import { evaluateSync } from './evaluate-sync.js';
import type { StepContext } from './step-plan.js';

export async function waitForSync(
  kit: DeployKit,
  ctx: StepContext,
  revision: string,
  timeoutMs: number,
): Promise<'synced' | { failed: string }> {
  const { input, ports, scope, log } = kit;
  const { argocd, clock } = ports;
  const signal = ctx.signal;
  const deadline = clock.now() + timeoutMs;
  let lastError: unknown;
  let lastReason = 'not checked yet';
  let requested = false;
  // Argo CD's watch stream says when the sync lands; it polls slowly only while the stream is down.
  const watch = argocd.watchApplication(input.argocd.application, scope);
  let seen = 0;
  let requestedAt = 0;
  try {
    for (;;) {
      signal.throwIfAborted();
      try {
        // Only what the stream sent after our sync request: an older snapshot may still show a
        // past operation on this revision.
        const snapshot = watch.snapshot();
        const streamed = requested && snapshot.version > requestedAt ? snapshot.application : undefined;
        const app =
          streamed ??
          (await argocd.getApplication(input.argocd.application, {
            ...scope,
            ...(requested ? {} : { refresh: 'normal' as const }),
            signal,
          }));
        lastError = undefined;
        const verdict = evaluateSync(app, revision);
        if (verdict.state === 'synced') return 'synced';
        if (verdict.state === 'failed' && requested) return { failed: `${verdict.phase}: ${verdict.reason}` };
        lastReason = verdict.reason;
        if (!requested) {
          requestedAt = watch.snapshot().version;
          // Once per run and revision: a retried job finds the request recorded and only waits.
          await ctx.once(
            `request:${revision.slice(0, 12)}`,
            async () => {
              const result = await argocd.sync(
                input.argocd.application,
                {
                  revision,
                  prune: input.argocd.prune,
                  runId: input.runId,
                  sourceCommit: input.sourceCommit,
                  ...scope,
                },
                signal,
              );
              return { status: result.status };
            },
            async () => {
              const again = await argocd.getApplication(input.argocd.application, { ...scope, signal });
              return evaluateSync(again, revision).state !== 'waiting' || operationTargets(again, revision);
            },
          );
          requested = true;
          continue;
        }
      } catch (err) {
        if (signal.aborted || !isRetryable(err)) throw err;
        lastError = err;
        log?.warn({ err: String(err) }, 'Argo CD call failed while waiting for the sync; retrying');
      }
      if (clock.now() > deadline) {
        if (lastError instanceof ShipgateError) throw lastError;
        if (lastError) {
          throw ArgoCdUnavailable(`sync ${input.argocd.application}`, String(lastError), {
            cause: lastError,
          });
        }
        if (!requested) throw DeploySyncTimeout(input.argocd.application, revision);
        return { failed: `not synced within ${Math.round(timeoutMs / 1000)}s: ${lastReason}` };
      }
      // An abort ends the wait at once; the loop's throwIfAborted reports it.
      if (lastError) await sleep(kit.pollMs, undefined, { signal }).catch(() => undefined);
      else {
        const next = await watch.next(seen, kit.pollMs, signal).catch((err: unknown) => {
          if (signal.aborted) return { version: seen };
          throw err;
        });
        seen = next.version;
      }
    }
  } finally {
    watch.close();
  }
}
