/**
 * The rolling strategy's evaluator on Deployment statuses as the controller writes them (the
 * shapes of `kubectl get deploy -o yaml` during a rollout, a quota failure and a deadline).
 */
import { describe, expect, it } from 'vitest';
import { evaluateDeployment, isDeploymentObserved } from '../../../src/deploy/evaluate-deployment.js';
import { DeploymentSchema, type Deployment } from '../../../src/deploy/schema.js';
import { describeStrategies } from '../../../src/deploy/strategies.js';

const NOW = Date.parse('2026-12-04T02:00:00Z');

function deployment(
  status: Record<string, unknown>,
  spec: Record<string, unknown> = {},
  generation = 4,
): Deployment {
  return DeploymentSchema.parse({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'web-staging', generation },
    spec: { replicas: 3, progressDeadlineSeconds: 300, ...spec },
    status,
  });
}
const available = {
  type: 'Available',
  status: 'True',
  reason: 'MinimumReplicasAvailable',
  message: 'Deployment has minimum availability.',
};
const progressing = (reason: string, message: string, status = 'True') => ({
  type: 'Progressing',
  status,
  reason,
  message,
});
const rolledOut = {
  observedGeneration: 4,
  replicas: 3,
  updatedReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
  conditions: [
    available,
    progressing('NewReplicaSetAvailable', 'ReplicaSet "web-7d4b9c" has successfully progressed.'),
  ],
};

describe('evaluateDeployment', () => {
  it('healthy once every desired replica is updated and available and the old ones are gone', () => {
    expect(evaluateDeployment(deployment(rolledOut), { now: NOW })).toEqual({
      stage: 'healthy',
      summary: 'Deployment web: 3 of 3 replicas updated and available',
    });
  });

  it('waits in the order kubectl rollout status reports', () => {
    const mid = { ...rolledOut, conditions: [available, progressing('ReplicaSetUpdated', 'progressing')] };
    const cases: [Record<string, unknown>, string][] = [
      [{ ...mid, updatedReplicas: 1, replicas: 4 }, '1 of 3 new replicas updated'],
      [{ ...mid, replicas: 4 }, '1 old replicas pending termination'],
      [{ ...mid, availableReplicas: 2 }, '2 of 3 updated replicas available'],
    ];
    for (const [status, reason] of cases) {
      expect(evaluateDeployment(deployment(status), { now: NOW })).toEqual({ stage: 'waiting', reason });
    }
  });

  it('an unobserved generation waits, even when the previous status looked done or failed', () => {
    const stale = { ...rolledOut, observedGeneration: 3 };
    expect(isDeploymentObserved(deployment(stale))).toBe(false);
    expect(evaluateDeployment(deployment(stale), { now: NOW })).toEqual({
      stage: 'waiting',
      reason: 'the Deployment controller has not observed the new spec yet',
    });
    const staleDeadline = {
      ...stale,
      conditions: [progressing('ProgressDeadlineExceeded', 'old', 'False')],
    };
    expect(evaluateDeployment(deployment(staleDeadline), { now: NOW }).stage).toBe('waiting');
  });

  it('ProgressDeadlineExceeded fails the progress-deadline check with the controller message', () => {
    const status = {
      ...rolledOut,
      updatedReplicas: 1,
      availableReplicas: 3,
      replicas: 4,
      conditions: [
        available,
        progressing(
          'ProgressDeadlineExceeded',
          'ReplicaSet "web-7d4b9c" has timed out progressing.',
          'False',
        ),
      ],
    };
    expect(evaluateDeployment(deployment(status), { now: NOW })).toEqual({
      stage: 'failed',
      gate: 'progress-deadline',
      reason:
        'Deployment web exceeded its progress deadline (300s): ReplicaSet "web-7d4b9c" has timed out progressing.',
    });
  });

  it('ReplicaFailure fails deployment-degraded; a False one is ignored', () => {
    const failure = {
      type: 'ReplicaFailure',
      status: 'True',
      reason: 'FailedCreate',
      message: 'pods "web-7d4b9c-" is forbidden: exceeded quota: compute-resources',
    };
    const status = { ...rolledOut, updatedReplicas: 0, conditions: [available, failure] };
    expect(evaluateDeployment(deployment(status), { now: NOW })).toEqual({
      stage: 'failed',
      gate: 'deployment-degraded',
      reason:
        'Deployment web is Degraded: FailedCreate: pods "web-7d4b9c-" is forbidden: exceeded quota: compute-resources',
    });
    const cleared = { ...status, conditions: [available, { ...failure, status: 'False' }] };
    expect(evaluateDeployment(deployment(cleared), { now: NOW }).stage).toBe('waiting');
  });

  it("Argo CD's Degraded health fails application-health; Progressing or unknown health does not", () => {
    const mid = { ...rolledOut, availableReplicas: 2 };
    expect(
      evaluateDeployment(deployment(mid), {
        now: NOW,
        appHealth: { status: 'Degraded', message: 'StatefulSet web-cache: 0 of 1 ready' },
      }),
    ).toEqual({
      stage: 'failed',
      gate: 'application-health',
      reason: 'Argo CD reports the Application Degraded: StatefulSet web-cache: 0 of 1 ready',
    });
    expect(
      evaluateDeployment(deployment(mid), { now: NOW, appHealth: { status: 'Progressing' } }).stage,
    ).toBe('waiting');
  });

  it("the deploy's own deadline fails a rollout still waiting; a paused Deployment waits for it too", () => {
    const mid = { ...rolledOut, availableReplicas: 2 };
    expect(evaluateDeployment(deployment(mid), { now: NOW, deadlineAt: NOW - 5_000 })).toEqual({
      stage: 'failed',
      gate: 'progress-deadline',
      reason:
        'Deployment web not rolled out before the deploy deadline (5s over; 2 of 3 updated replicas available)',
    });
    expect(evaluateDeployment(deployment(mid, { paused: true }), { now: NOW })).toEqual({
      stage: 'waiting',
      reason: 'Deployment web is paused',
    });
  });

  it('defaults: one replica; a Deployment without generation counts as observed', () => {
    const d = DeploymentSchema.parse({
      metadata: { name: 'web' },
      status: { replicas: 1, updatedReplicas: 1, availableReplicas: 1, conditions: {} },
    });
    expect(evaluateDeployment(d, { now: NOW }).stage).toBe('healthy');
  });
});

describe('describeStrategies (the PR manifests check)', () => {
  it('one line per environment, saying what each strategy watches', () => {
    const text = describeStrategies([
      { env: 'staging', strategy: 'rolling' },
      { env: 'production', strategy: 'canary' },
    ]);
    expect(text.split('\n')).toEqual([
      'Deploy strategy per environment:',
      expect.stringMatching(
        /^- `staging`: \*\*rolling\*\* \(plain Deployment, rolling update: .*progressDeadlineSeconds/,
      ),
      expect.stringMatching(/^- `production`: \*\*canary\*\* \(Argo Rollout, canary: every pause gated/),
    ]);
    expect(describeStrategies([])).toBe('');
  });
});
