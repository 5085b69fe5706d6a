/**
 * Plays Argo CD's "apply" and the Argo Rollouts controller for end-to-end tests, on top of the
 * Argo CD and Kubernetes API stand-ins: a successful sync applies the Rollout read from the
 * synced env-repo commit; the blue-green Rollout then moves Progressing → Paused
 * (BlueGreenPause, with a pre-promotion AnalysisRun when the spec has one) → on `resume`,
 * post-promotion analysis → Healthy, or Degraded on `abort`. Status shapes follow the
 * fixtures in test/fixtures/rollouts. (test/integration/deploy/deploy-harness.ts does the
 * same for one fixed application; this one serves any number of app environments.)
 *
 * A canary Rollout (`spec.strategy.canary.steps`) walks its steps the way the controller
 * does: `setWeight` moves `status.canary.weights`, `pause` pauses (CanaryPauseStep) until
 * `resume`, an inline `analysis` step runs a Step AnalysisRun and, when it fails, the
 * controller aborts; `spec.strategy.canary.analysis` runs a Background AnalysisRun for the
 * whole update. `status.currentStepIndex` says where it is.
 */
import { createHash } from 'node:crypto';
import type { ArgoCdStandIn } from './argocd-stand-in.js';
import { applyInNamespace, applySyncedManifests, laterUnlessClosed } from './controller-sim-kit.js';
import type { KubeObject, KubeStandIn } from './kube-api-stand-in.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type AnalysisPhase = 'Successful' | 'Failed';

export interface SimulatedEnvironment {
  /** Argo CD Application name (`<app>-<env>`). */
  application: string;
  namespace: string;
  /** Env-repo folder the Application syncs. */
  path: string;
  rollout: string;
}

export interface ControllerScenario {
  /** Per env-repo revision (or for all): the analysis results. */
  pre: AnalysisPhase;
  post: AnalysisPhase;
  stepMs: number;
  /** Canary: the result of the inline analysis at a step index. @defaultValue Successful */
  stepAnalysis: Record<number, AnalysisPhase>;
  /** Canary: the Background AnalysisRun's result, reached after `backgroundAfterMs`. */
  background: AnalysisPhase;
  backgroundAfterMs: number;
  /** Canary: the controller never gets past this step index (pods never become ready). */
  stallAtStep: number | undefined;
  /**
   * Blue-green: the post-promotion result for one application and image, when it must differ
   * from `post` (a soak where some releases fail their analysis and others pass).
   * @defaultValue undefined: `post` for every release
   */
  postFor?: (application: string, image: string) => AnalysisPhase | undefined;
}

export interface ControllerSim {
  scenario: ControllerScenario;
  /** Puts `manifest` (a Rollout) in the cluster as the Healthy, stable version of `application`. */
  seedHealthy(application: string, manifest: Json): void;
  /** Images the Rollout of `application` ran Healthy, in order. */
  healthyImages(application: string): string[];
}

const podHash = (image: string) => createHash('sha1').update(image).digest('hex').slice(0, 10);

export function simulateRolloutController(options: {
  kube: KubeStandIn;
  argo: ArgoCdStandIn;
  environments: readonly SimulatedEnvironment[];
  readFile(revision: string, file: string): Promise<string | undefined>;
  scenario?: Partial<ControllerScenario>;
}): ControllerSim {
  const { kube, argo } = options;
  const scenario: ControllerScenario = {
    pre: 'Successful',
    post: 'Successful',
    stepMs: 20,
    stepAnalysis: {},
    background: 'Successful',
    backgroundAfterMs: 60,
    stallAtStep: undefined,
    ...options.scenario,
  };
  const stable = new Map<string, string>();
  const healthy = new Map<string, string[]>();
  const byApp = new Map(options.environments.map((e) => [e.application, e]));
  const later = (fn: () => void) => laterUnlessClosed(fn, scenario.stepMs);

  const get = (env: SimulatedEnvironment) => kube.get('rollouts', env.namespace, env.rollout);
  const patch = (env: SimulatedEnvironment, status: Json) =>
    kube.patchStatus('rollouts', env.namespace, env.rollout, status);
  const healthyStatus = (generation: number, hash: string): Json => ({
    phase: 'Healthy',
    observedGeneration: String(generation),
    currentPodHash: hash,
    stableRS: hash,
    abort: false,
    pauseConditions: [],
    controllerPause: false,
    blueGreen: { activeSelector: hash, previewSelector: hash },
    conditions: [
      {
        type: 'Available',
        status: 'True',
        reason: 'AvailableReason',
        message: 'Rollout has minimum availability',
      },
      { type: 'Healthy', status: 'True', reason: 'RolloutHealthy', message: 'Rollout is healthy' },
    ],
  });
  const markHealthy = (env: SimulatedEnvironment, image: string) => {
    healthy.set(env.application, [...(healthy.get(env.application) ?? []), image]);
    stable.set(env.application, podHash(image));
  };

  const suffix = { PrePromotion: 'pre', PostPromotion: 'post', Background: 'background', Step: 'step' };
  function analysisRun(
    env: SimulatedEnvironment,
    kind: 'PrePromotion' | 'PostPromotion' | 'Background' | 'Step',
    hash: string,
    phase: AnalysisPhase,
    options: { index?: number; afterMs?: number; onDone?: () => void } = {},
  ) {
    const rollout = get(env)!;
    const name = `${env.rollout}-${hash}-${suffix[kind]}${options.index === undefined ? '' : `-${options.index}`}`;
    kube.upsert({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AnalysisRun',
      metadata: {
        name,
        namespace: env.namespace,
        labels: { 'rollout-type': kind, 'rollouts-pod-template-hash': hash },
        ownerReferences: [
          {
            apiVersion: 'argoproj.io/v1alpha1',
            kind: 'Rollout',
            name: env.rollout,
            uid: rollout.metadata.uid!,
          },
        ],
      },
      spec: { metrics: [{ name: 'error-rate', provider: { prometheus: { query: 'x' } } }] },
      status: { phase: 'Running', startedAt: new Date().toISOString() },
    });
    const finish = () => {
      kube.patchStatus('analysisruns', env.namespace, name, {
        phase,
        ...(phase === 'Failed'
          ? { message: 'metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)' }
          : {}),
        metricResults: [
          {
            name: 'error-rate',
            phase,
            count: 3,
            ...(phase === 'Failed' ? { failed: 1 } : { successful: 3 }),
            measurements: [
              {
                phase,
                value: phase === 'Failed' ? '[0.12]' : '[0.001]',
                finishedAt: new Date().toISOString(),
              },
            ],
          },
        ],
      });
      options.onDone?.();
    };
    if (options.afterMs === undefined) later(finish);
    else laterUnlessClosed(finish, options.afterMs);
    return name;
  }

  /** Canary: runs steps[i..] until a pause, a failed analysis, the end, or a stall. */
  function advanceCanary(env: SimulatedEnvironment, hash: string, i: number) {
    later(() => {
      const rollout = get(env);
      const status = (rollout?.status ?? {}) as Json;
      if (!rollout || status.abort === true || status.currentPodHash !== hash) return;
      const steps = ((rollout.spec as Json).strategy.canary.steps ?? []) as Json[];
      const stableHash = stable.get(env.application)!;
      const weights = (w: number) => ({
        canary: { weight: w, podTemplateHash: hash },
        stable: { weight: 100 - w, podTemplateHash: stableHash },
      });
      if (i >= steps.length) {
        patch(env, {
          ...healthyStatus(rollout.metadata.generation!, hash),
          currentStepIndex: steps.length,
          canary: { ...(status.canary as Json), weights: weights(100) },
        });
        markHealthy(env, (rollout.spec as Json).template.spec.containers[0].image as string);
        return;
      }
      if (scenario.stallAtStep === i) return;
      const step = steps[i]!;
      if (step.setWeight !== undefined) {
        patch(env, {
          currentStepIndex: i,
          canary: { ...(status.canary as Json), weights: weights(step.setWeight) },
        });
        advanceCanary(env, hash, i + 1);
      } else if (step.pause !== undefined) {
        patch(env, {
          currentStepIndex: i,
          phase: 'Paused',
          message: 'CanaryPauseStep',
          controllerPause: true,
          pauseConditions: [{ reason: 'CanaryPauseStep', startTime: new Date().toISOString() }],
        });
      } else if (step.analysis !== undefined) {
        const result = scenario.stepAnalysis[i] ?? 'Successful';
        const name = analysisRun(env, 'Step', hash, result, {
          index: i,
          onDone: () => {
            const canary = (get(env)?.status as Json).canary as Json;
            patch(env, { canary: { ...canary, currentStepAnalysisRunStatus: { name, status: result } } });
            if (result === 'Successful') advanceCanary(env, hash, i + 1);
            else
              abortCanary(
                env,
                'RolloutAborted: Rollout aborted update to revision 2: metric "error-rate" assessed Failed',
              );
          },
        });
        patch(env, {
          currentStepIndex: i,
          canary: { ...(status.canary as Json), currentStepAnalysisRunStatus: { name, status: 'Running' } },
        });
      } else {
        advanceCanary(env, hash, i + 1);
      }
    });
  }

  function abortCanary(env: SimulatedEnvironment, message: string) {
    const status = (get(env)?.status ?? {}) as Json;
    const stableHash = stable.get(env.application);
    patch(env, {
      abort: true,
      phase: 'Degraded',
      message,
      pauseConditions: [],
      controllerPause: false,
      canary: {
        ...(status.canary as Json),
        weights: {
          canary: { weight: 0, podTemplateHash: status.currentPodHash },
          stable: { weight: 100, podTemplateHash: stableHash },
        },
      },
      conditions: [{ type: 'Progressing', status: 'False', reason: 'RolloutAborted', message }],
    });
  }

  applySyncedManifests({
    kube,
    argo,
    environments: options.environments,
    readFile: options.readFile,
    file: (env) => `rollout-${env.rollout}.yaml`,
    current: get,
    applied: rolloutApplied,
  });

  /**
   * The controller's answer to an applied Rollout: straight to Healthy on a first install or a
   * revert to the stable spec; otherwise the canary steps, or blue-green up to its pause.
   */
  function rolloutApplied(env: SimulatedEnvironment, manifest: Json, _previous: unknown, stored: KubeObject) {
    const { application } = env;
    const image = manifest.spec.template.spec.containers[0].image as string;
    const generation = stored.metadata.generation!;
    const hash = podHash(image);
    const stableHash = stable.get(application);
    if (stableHash === undefined || hash === stableHash) {
      // First install, or back to the stable spec (a revert): straight to Healthy.
      later(() => {
        patch(env, healthyStatus(generation, hash));
        markHealthy(env, image);
      });
      return;
    }
    if (manifest.spec.strategy?.canary) {
      later(() => {
        const canary: Json = {
          weights: {
            canary: { weight: 0, podTemplateHash: hash },
            stable: { weight: 100, podTemplateHash: stableHash },
          },
        };
        patch(env, {
          phase: 'Progressing',
          message: 'more replicas need to be updated',
          observedGeneration: String(generation),
          currentPodHash: hash,
          stableRS: stableHash,
          currentStepIndex: 0,
          abort: false,
          pauseConditions: [],
          controllerPause: false,
          conditions: [],
          canary,
        });
        if (manifest.spec.strategy.canary.analysis) {
          const result = scenario.background;
          const name = analysisRun(env, 'Background', hash, result, {
            afterMs: scenario.backgroundAfterMs,
            onDone: () => {
              const c = (get(env)?.status as Json).canary as Json;
              patch(env, { canary: { ...c, currentBackgroundAnalysisRunStatus: { name, status: result } } });
            },
          });
          patch(env, {
            canary: { ...canary, currentBackgroundAnalysisRunStatus: { name, status: 'Running' } },
          });
        }
        advanceCanary(env, hash, 0);
      });
      return;
    }
    later(() => {
      patch(env, {
        phase: 'Progressing',
        observedGeneration: String(generation),
        currentPodHash: hash,
        abort: false,
        pauseConditions: [],
        blueGreen: { activeSelector: stableHash, previewSelector: hash },
      });
      later(() => {
        const bg: Json = { activeSelector: stableHash, previewSelector: hash };
        if (manifest.spec.strategy?.blueGreen?.prePromotionAnalysis) {
          const name = analysisRun(env, 'PrePromotion', hash, scenario.pre);
          bg.prePromotionAnalysisRunStatus = { name, status: 'Running' };
        }
        patch(env, {
          phase: 'Paused',
          message: 'BlueGreenPause',
          controllerPause: true,
          pauseConditions: [{ reason: 'BlueGreenPause', startTime: new Date().toISOString() }],
          blueGreen: bg,
        });
      });
    });
  }

  argo.onAction(({ body }) => {
    if (body.kind !== 'Rollout') return;
    const env = [...byApp.values()].find(
      (e) => e.namespace === body.namespace && e.rollout === body.resourceName,
    );
    if (!env) return;
    const status = (get(env)?.status ?? {}) as Json;
    const hash = status.currentPodHash as string;
    if ((get(env)?.spec as Json | undefined)?.strategy?.canary) {
      if (body.action === 'resume' && status.phase === 'Paused') {
        patch(env, { pauseConditions: [], controllerPause: false, phase: 'Progressing', message: '' });
        advanceCanary(env, hash, (status.currentStepIndex as number) + 1);
      }
      if (body.action === 'abort') abortCanary(env, 'RolloutAborted: Rollout aborted update to revision 2');
      return;
    }
    if (body.action === 'resume' || body.action === 'promote-full') {
      patch(env, { pauseConditions: [], controllerPause: false, phase: 'Progressing' });
      const rolloutImage = ((get(env)?.spec as Json | undefined)?.template?.spec?.containers?.[0]?.image ??
        '') as string;
      const post = scenario.postFor?.(env.application, rolloutImage) ?? scenario.post;
      later(() => {
        const name = analysisRun(env, 'PostPromotion', hash, post);
        patch(env, {
          blueGreen: {
            activeSelector: hash,
            previewSelector: hash,
            postPromotionAnalysisRunStatus: { name, status: 'Running' },
          },
        });
        if (post === 'Successful') {
          later(() =>
            later(() => {
              const rollout = get(env)!;
              patch(env, { ...healthyStatus(rollout.metadata.generation!, hash) });
              const image = (rollout.spec as Json).template.spec.containers[0].image as string;
              markHealthy(env, image);
            }),
          );
        }
      });
    }
    if (body.action === 'abort') {
      patch(env, {
        abort: true,
        phase: 'Degraded',
        message: 'RolloutAborted: Rollout aborted update',
        pauseConditions: [],
        blueGreen: { activeSelector: stable.get(env.application), previewSelector: hash },
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'RolloutAborted',
            message: 'Rollout aborted update',
          },
        ],
      });
    }
  });

  return {
    scenario,
    healthyImages: (application) => healthy.get(application) ?? [],
    seedHealthy(application, manifest) {
      const env = byApp.get(application)!;
      const image = manifest.spec.template.spec.containers[0].image as string;
      const stored = applyInNamespace(kube, manifest, env.namespace);
      patch(env, healthyStatus(stored.metadata.generation!, podHash(image)));
      markHealthy(env, image);
    },
  };
}
