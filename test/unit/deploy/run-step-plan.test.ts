import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeployCancelled, DeployLeaseLost, DeployStepTimeout } from '../../../src/errors.js';
import type { StepStore } from '../../../src/deploy/ports.js';
import { runStepPlan, validateStepPlan } from '../../../src/deploy/run-step-plan.js';
import type { Step, StepEvent, StepPlan } from '../../../src/deploy/step-plan.js';

/** The run store's step ledger semantics (claim once, results by key), in memory. */
function memoryLedger(): StepStore & { claims: Set<string>; results: Map<string, unknown> } {
  const claims = new Set<string>();
  const results = new Map<string, unknown>();
  return {
    claims,
    results,
    claim: async (k) => {
      if (claims.has(k)) return false;
      claims.add(k);
      return true;
    },
    result: async (k) => (results.has(k) ? structuredClone(results.get(k)) : undefined),
    save: async (k, v) => {
      results.set(k, structuredClone(v));
    },
  };
}

/** A plan whose steps log what they did to `effects` (the world the ledger protects). */
function plan(effects: string[], steps: Step[], onFailure: Step[] = []): StepPlan {
  return { scope: 'deploy:prod:abc', steps, onFailure };
}
const effect = (effects: string[], name: string, extra: Partial<Step> = {}): Step => ({
  name,
  run: async () => {
    effects.push(name);
    return { output: { did: name } };
  },
  ...extra,
});

describe('runStepPlan', () => {
  it('runs the steps in order and hands outputs to later steps', async () => {
    const effects: string[] = [];
    const ledger = memoryLedger();
    const result = await runStepPlan(
      plan(effects, [
        { name: 'commit', run: async () => ({ output: { sha: 'abc123' } }) },
        {
          name: 'sync',
          inputs: ['commit'],
          run: async (ctx) => {
            effects.push(`sync ${(ctx.outputs.get('commit') as { sha: string }).sha}`);
            return {};
          },
        },
      ]),
      { ledger },
    );
    expect(result.outcome).toBe('succeeded');
    expect(effects).toEqual(['sync abc123']);
  });

  it('refuses a plan whose step reads an output no earlier step writes', () => {
    expect(() =>
      validateStepPlan({
        scope: 's',
        steps: [{ name: 'a', inputs: ['b'], run: async () => ({}) }],
        onFailure: [],
      }),
    ).toThrow(/reads b/);
  });

  it('resumes at the step it was on: finished steps are not repeated, a claimed one is reconciled', async () => {
    const effects: string[] = [];
    const ledger = memoryLedger();
    const controller = new AbortController();
    let resumeSent = false;
    const steps: Step[] = [
      effect(effects, 'commit'),
      effect(effects, 'sync'),
      {
        name: 'resume',
        reconcile: async () => (resumeSent ? { done: true, output: 'seen' } : { done: false }),
        run: async () => {
          resumeSent = true;
          effects.push('resume');
          // The worker dies after the effect got through but before the ledger recorded it.
          controller.abort(new Error('SIGKILL'));
          throw new Error('connection reset');
        },
      },
      effect(effects, 'notify'),
    ];
    await expect(runStepPlan(plan(effects, steps), { ledger, signal: controller.signal })).rejects.toSatisfy(
      (err) => DeployCancelled.is(err),
    );
    expect(effects).toEqual(['commit', 'sync', 'resume']);

    const events: StepEvent[] = [];
    const result = await runStepPlan(plan(effects, steps), {
      ledger,
      onStep: (e) => {
        events.push(e);
      },
    });
    expect(result.outcome).toBe('succeeded');
    expect(effects).toEqual(['commit', 'sync', 'resume', 'notify']);
    expect(events.filter((e) => e.type === 'skip').map((e) => [e.step, (e as { why: string }).why])).toEqual([
      ['commit', 'recorded'],
      ['sync', 'recorded'],
      ['resume', 'reconciled'],
    ]);
    expect(result.outputs.get('resume')).toBe('seen');
  });

  it('a failed check compensates the steps that ran, in reverse order, then runs onFailure', async () => {
    const effects: string[] = [];
    const ledger = memoryLedger();
    const steps: Step[] = [
      effect(effects, 'commit', {
        compensation: [effect(effects, 'revert'), effect(effects, 'sync-revert')],
      }),
      effect(effects, 'sync', { compensation: [effect(effects, 'abort')] }),
      {
        name: 'analysis',
        check: true,
        run: async () => ({ failure: { gate: 'analysis', reason: 'error-rate 12%' } }),
      },
      effect(effects, 'never', { compensation: [effect(effects, 'never-compensated')] }),
    ];
    const onFailure = [effect(effects, 'mark-failed'), effect(effects, 'notify')];
    const result = await runStepPlan(plan(effects, steps, onFailure), { ledger });
    expect(result).toMatchObject({
      outcome: 'rolled-back',
      failure: { gate: 'analysis', reason: 'error-rate 12%' },
    });
    expect(effects).toEqual(['commit', 'sync', 'abort', 'revert', 'sync-revert', 'mark-failed', 'notify']);

    // A retry after the rollback repeats nothing and reports the same verdict.
    const again = await runStepPlan(plan(effects, steps, onFailure), { ledger });
    expect(again).toMatchObject({ outcome: 'rolled-back', failure: { gate: 'analysis' } });
    expect(effects).toHaveLength(7);
  });

  it('a rollback interrupted half way finishes without repeating its finished steps', async () => {
    const effects: string[] = [];
    const ledger = memoryLedger();
    const controller = new AbortController();
    let failing = true;
    const steps: Step[] = [
      effect(effects, 'sync', {
        compensation: [
          effect(effects, 'abort'),
          {
            name: 'revert',
            run: async () => {
              effects.push('revert');
              if (failing) controller.abort(new Error('SIGTERM'));
              return { output: { sha: 'def' } };
            },
          },
          effect(effects, 'sync-revert'),
        ],
      }),
      { name: 'zap', check: true, run: async () => ({ failure: { gate: 'zap', reason: 'SQL injection' } }) },
    ];
    await expect(runStepPlan(plan(effects, steps), { ledger, signal: controller.signal })).rejects.toSatisfy(
      (err) => DeployCancelled.is(err),
    );
    expect(effects).toEqual(['sync', 'abort', 'revert']);
    failing = false;
    // The check would pass now; the first verdict still holds.
    steps[1] = { name: 'zap', check: true, run: async () => ({}) };
    const result = await runStepPlan(plan(effects, steps), { ledger });
    expect(result).toMatchObject({ outcome: 'rolled-back', failure: { gate: 'zap' } });
    expect(effects).toEqual(['sync', 'abort', 'revert', 'sync-revert']);
  });

  it('stops at once when the lease is lost: the running step sees the signal, no later step starts', async () => {
    const effects: string[] = [];
    const ledger = memoryLedger();
    const lease = new AbortController();
    const steps: Step[] = [
      effect(effects, 'commit'),
      {
        name: 'watch',
        run: async (ctx) => {
          setTimeout(() => lease.abort(DeployLeaseLost('web', 'prod', 'renewal returned false')), 20);
          await sleep(10_000, undefined, { signal: ctx.signal });
          effects.push('watch finished');
          return {};
        },
      },
      effect(effects, 'resume'),
    ];
    const started = Date.now();
    await expect(runStepPlan(plan(effects, steps), { ledger, signal: lease.signal })).rejects.toSatisfy(
      (err) => DeployLeaseLost.is(err),
    );
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(effects).toEqual(['commit']);
  });

  it('a step that reads `once` after the lease is lost makes no side effect', async () => {
    const effects: string[] = [];
    const lease = new AbortController();
    const steps: Step[] = [
      {
        name: 'notify-then-resume',
        run: async (ctx) => {
          await ctx.once('notify', async () => effects.push('notify'));
          lease.abort(DeployLeaseLost('web', 'prod', 'stolen'));
          await ctx.once('resume', async () => effects.push('resume'));
          return {};
        },
      },
    ];
    await expect(
      runStepPlan(plan(effects, steps), { ledger: memoryLedger(), signal: lease.signal }),
    ).rejects.toSatisfy((err) => DeployLeaseLost.is(err));
    expect(effects).toEqual(['notify']);
  });

  it('a check past its timeout is a verdict (rollback); any other step past it is a retryable error', async () => {
    const effects: string[] = [];
    const slow = (name: string, extra: Partial<Step>): Step => ({
      name,
      timeoutMs: 50,
      run: async (ctx) => {
        await sleep(5_000, undefined, { signal: ctx.signal });
        return {};
      },
      ...extra,
    });
    const gated = await runStepPlan(
      plan(effects, [
        effect(effects, 'sync', { compensation: [effect(effects, 'revert')] }),
        slow('canary-step-2', { check: true }),
      ]),
      { ledger: memoryLedger() },
    );
    expect(gated).toMatchObject({
      outcome: 'rolled-back',
      failure: { gate: 'canary-step-2', reason: 'canary-step-2 did not finish within 0s' },
    });
    expect(effects).toEqual(['sync', 'revert']);

    const err = await runStepPlan(plan(effects, [slow('status', {})]), { ledger: memoryLedger() }).catch(
      (e: unknown) => e,
    );
    expect(DeployStepTimeout.is(err)).toBe(true);
    expect((err as { retryable: boolean }).retryable).toBe(true);
  });

  it('a `first-start` timeout keeps counting while the worker is away; an `attempt` one starts afresh', async () => {
    const effects: string[] = [];
    const ledger = memoryLedger();
    let clock = 1_000_000;
    const waiting = (name: string, timeoutFrom: Step['timeoutFrom']): Step => ({
      name,
      check: true,
      timeoutMs: 10_000,
      timeoutFrom,
      run: async (ctx) => {
        effects.push(`${name} waits`);
        await sleep(60_000, undefined, { signal: ctx.signal });
        return {};
      },
    });
    const steps = [waiting('canary-2-pause', 'first-start')];
    // The first worker starts the step and is killed (its signal) at once.
    const killed = new AbortController();
    const first = runStepPlan(plan(effects, steps), { ledger, signal: killed.signal, now: () => clock });
    await sleep(20);
    killed.abort(new Error('SIGKILL'));
    await expect(first).rejects.toSatisfy((err) => DeployCancelled.is(err));
    // The next worker comes 9.95 s later: 50 ms of the step's 10 s are left.
    clock += 9_950;
    const started = Date.now();
    const resumed = await runStepPlan(plan(effects, steps), { ledger, now: () => clock });
    expect(resumed).toMatchObject({
      outcome: 'rolled-back',
      failure: { gate: 'canary-2-pause', reason: 'canary-2-pause did not finish within 10s' },
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    // Past it already: the resumed step fails without waiting at all.
    const late = memoryLedger();
    const lateSteps = [waiting('late', 'first-start')];
    const away = new AbortController();
    const once = runStepPlan(plan(effects, lateSteps), {
      ledger: late,
      signal: away.signal,
      now: () => clock,
    });
    await sleep(20);
    away.abort(new Error('SIGKILL'));
    await once.catch(() => undefined);
    clock += 60_000;
    expect(await runStepPlan(plan(effects, lateSteps), { ledger: late, now: () => clock })).toMatchObject({
      outcome: 'rolled-back',
      failure: { gate: 'late' },
    });

    // An `attempt` timeout (a bound on a hung call) is whole again for the resumed worker.
    const fresh = memoryLedger();
    const bounded = [{ ...waiting('health', 'attempt'), timeoutMs: 300 }];
    const gone = new AbortController();
    const before = runStepPlan(plan(effects, bounded), {
      ledger: fresh,
      signal: gone.signal,
      now: () => clock,
    });
    await sleep(20);
    gone.abort(new Error('SIGKILL'));
    await before.catch(() => undefined);
    clock += 60_000;
    const t0 = Date.now();
    expect(await runStepPlan(plan(effects, bounded), { ledger: fresh, now: () => clock })).toMatchObject({
      outcome: 'rolled-back',
      failure: { gate: 'health' },
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  });

  it('retries a step by its policy, and the observer sees every start and end', async () => {
    let calls = 0;
    const ends: string[] = [];
    const result = await runStepPlan(
      {
        scope: 's',
        steps: [
          {
            name: 'resume',
            retry: { attempts: 3, minDelayMs: 1, maxDelayMs: 2 },
            run: async () => {
              calls++;
              if (calls < 3) throw new Error('503');
              return { output: 'ok' };
            },
          },
        ],
        onFailure: [],
      },
      {
        ledger: memoryLedger(),
        onStep: (e) => (e.type === 'start' ? () => ends.push(e.step) : undefined),
      },
    );
    expect(result.outcome).toBe('succeeded');
    expect(calls).toBe(3);
    expect(ends).toEqual(['resume']);
  });

  it('a best-effort rollback step that fails retryably does not stop the rollback', async () => {
    const effects: string[] = [];
    const logged: string[] = [];
    const result = await runStepPlan(
      plan(
        effects,
        [
          effect(effects, 'sync', {
            compensation: [
              {
                name: 'abort',
                bestEffort: true,
                run: async () => {
                  throw new Error('Argo CD unreachable');
                },
              },
              effect(effects, 'revert'),
            ],
          }),
          { name: 'zap', check: true, run: async () => ({ failure: { gate: 'zap', reason: 'x' } }) },
        ],
        [effect(effects, 'notify')],
      ),
      { ledger: memoryLedger(), onBestEffortError: (step) => logged.push(step) },
    );
    expect(result.outcome).toBe('rolled-back');
    expect(effects).toEqual(['sync', 'revert', 'notify']);
    expect(logged).toEqual(['abort']);
  });
});
