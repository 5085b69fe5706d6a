/**
 * A whole deploy stage on one machine, with real parts: the env repo is a real bare git
 * remote written by the real GitOps writer; Argo CD and the Kubernetes API are the
 * stand-ins, reached through Shipgate's Argo CD client and @kubernetes/client-node; the
 * step-once store is real Redis. The test plays the two controllers: "Argo CD" applies the
 * Rollout from the env repo commit it syncs, and "Argo Rollouts" moves the blue-green
 * Rollout through preview, pause, analysis and promotion, creating AnalysisRuns the way the
 * real controller labels and owns them.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { createArgoCdClient, type ArgoCdClient } from '../../../src/argocd/argocd-client.js';
import type { DeployInput } from '../../../src/deploy/deploy-input.js';
import type { DeployEvent, DeployPorts, RollbackReason, StepStore } from '../../../src/deploy/ports.js';
import { createKubeDeploymentSource } from '../../../src/deploy/watch-deployment.js';
import { createKubeRolloutSource } from '../../../src/deploy/watch-rollout.js';
import { GitCli } from '../../../src/git/git-cli.js';
import { commitToEnvRepo } from '../../../src/gitops/commit-to-env-repo.js';
import { revertAppEnv } from '../../../src/gitops/revert-app-env.js';
import type { EnvRepoOptions } from '../../../src/gitops/write-env-path.js';
import { startArgoCdStandIn, type ArgoCdStandIn } from '../../../sandbox/argocd-stand-in.js';
import { redisSteps } from '../../support/deploy-worker.js';
import { createEnvRepo, type EnvRepo } from '../../support/env-repo.js';
import {
  startKubeApiStandIn,
  type KubeObject,
  type KubeStandIn,
} from '../../../sandbox/kube-api-stand-in.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import {
  simulateRolloutController,
  type ControllerScenario,
  type ControllerSim,
} from '../../../sandbox/rollout-controller-sim.js';
import {
  simulateDeploymentController,
  type DeploymentControllerSim,
  type DeploymentScenario,
} from '../../../sandbox/deployment-controller-sim.js';

export { redisSteps };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const here = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLE_ROLLOUT = parse(
  readFileSync(path.resolve(here, '../../../argocd/rollout/rollout.yaml'), 'utf8'),
) as Json;
export const CANARY_ROLLOUT = parse(
  readFileSync(path.resolve(here, '../../../argocd/rollout-canary/rollout.yaml'), 'utf8'),
) as Json;
export const ROLLING_DEPLOYMENT = parse(
  readFileSync(path.resolve(here, '../../../argocd/rolling/deployment.yaml'), 'utf8'),
) as Json;

export const NS = 'web-production';
export const APP = 'web-production';
export const ENV_PATH = 'apps/web/production';

export type RunPhase = 'Successful' | 'Failed' | 'Error' | 'Inconclusive';
export interface Scenario {
  /** Pre-promotion analysis result; null: the Rollout has no pre-promotion analysis. */
  pre: RunPhase | null;
  post: RunPhase;
  /** Keep the pre-promotion run Running until `finishPre()`. */
  holdPre: boolean;
  /** Keep the post-promotion run Running until `finishPost()`. */
  holdPost: boolean;
  /** The new ReplicaSet never becomes ready, so the Rollout never pauses. */
  neverPause: boolean;
  /** Like the real controller, abort the Rollout itself when pre-promotion analysis fails. */
  controllerAbortsOnPreFailure: boolean;
  zap: { passed: boolean; summary: string };
  /** How long each ZAP scan takes: keeps a deploy inside its pauses long enough for a timed event. */
  zapDelayMs?: number;
  /** Controller step delay. */
  stepMs: number;
  /**
   * Canary: the example canary Rollout, played by sandbox/rollout-controller-sim.ts with this
   * scenario instead of the blue-green controller below.
   */
  canary?: Partial<ControllerScenario>;
  /**
   * Rolling: argocd/rolling/deployment.yaml (its `spec` merged with `deploymentSpec`), played by
   * sandbox/deployment-controller-sim.ts with this scenario.
   */
  rolling?: Partial<DeploymentScenario>;
  deploymentSpec?: Json;
}

export interface Harness {
  kube: KubeStandIn;
  argo: ArgoCdStandIn;
  repo: EnvRepo;
  gitops: EnvRepoOptions;
  client: ArgoCdClient;
  steps: StepStore;
  /** Key prefix of `steps` in the test Redis (a worker in another process opens the same ledger). */
  stepsPrefix: string;
  /** A fresh step store, as the run store gives each run its own. */
  stepsFor(runId: string): StepStore;
  scenario: Scenario;
  goodCommit: string;
  releaseCommit: string;
  runId: string;
  statuses: { state: string; description: string }[];
  events: DeployEvent[];
  zapCalls: string[];
  reverts: RollbackReason[];
  clock: { offset: number; now(): number };
  ports(overrides?: Partial<DeployPorts>): DeployPorts;
  input(overrides?: Partial<DeployInput>): DeployInput;
  rollout(): Json;
  /** Commits another release of the web app (image tag `version`) and returns its sha. */
  release(version: string, runId: string): Promise<string>;
  finishPost(): void;
  /** The controller sim (canary scenarios only). */
  sim: ControllerSim | undefined;
  /** The Deployment controller sim (rolling scenarios only). */
  deploymentSim: DeploymentControllerSim | undefined;
  /** The live Deployment (rolling scenarios only). */
  deployment(): Json | undefined;
  /** Ends the held pre-promotion run with `scenario.pre`; false when none is waiting yet. */
  finishPre(): boolean;
  /** Resolves when `predicate` holds, polling every 10 ms (no fixed sleeps). */
  until(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function podHash(image: string): string {
  return createHash('sha1').update(image).digest('hex').slice(0, 10);
}

function rolloutManifest(image: string, canary = false): Json {
  const r = structuredClone(canary ? CANARY_ROLLOUT : EXAMPLE_ROLLOUT);
  r.metadata.namespace = NS;
  r.spec.template.spec.containers[0].image = image;
  return r;
}

export async function startDeployHarness(partial: Partial<Scenario> = {}): Promise<Harness> {
  const scenario: Scenario = {
    pre: 'Successful',
    post: 'Successful',
    holdPre: false,
    holdPost: false,
    neverPause: false,
    controllerAbortsOnPreFailure: false,
    zap: { passed: true, summary: 'ZAP baseline: 0 high, 0 medium, 2 low alerts' },
    stepMs: 15,
    ...partial,
  };
  const kube = await startKubeApiStandIn();
  const argo = await startArgoCdStandIn();
  const repo = await createEnvRepo();
  const gitops: EnvRepoOptions = { git: new GitCli(), remote: { url: repo.url }, workDir: repo.workDir };
  const prefix = uniquePrefix('deploy');
  const redis = testRedis();
  const runId = `run-${randomUUID()}`;
  const timers = new Set<NodeJS.Timeout>();
  const later = (fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      try {
        fn();
      } catch {
        // The stand-in may be closed when a test ends mid-step.
      }
    }, scenario.stepMs);
    timers.add(t);
  };

  const release = async (version: string, id: string) => {
    const image = `ghcr.io/acme/web:${version}`;
    const result = await commitToEnvRepo(gitops, {
      path: ENV_PATH,
      app: 'web',
      env: 'production',
      files: [
        rolling
          ? { name: 'deployment-web.yaml', content: stringify(deploymentManifest(image)) }
          : { name: 'rollout-web.yaml', content: stringify(rolloutManifest(image, canary)) },
      ],
      trailers: {
        shipgateRun: id,
        sourceRepo: 'acme/web',
        sourceCommit: createHash('sha1').update(version).digest('hex'),
        image,
        gates: 'tests=passed trivy=passed',
      },
    });
    return result.commit!;
  };

  const canary = scenario.canary !== undefined;
  const rolling = scenario.rolling !== undefined;
  const deploymentManifest = (image: string): Json => {
    const d = structuredClone(ROLLING_DEPLOYMENT);
    d.metadata.namespace = NS;
    d.spec = { ...d.spec, ...scenario.deploymentSpec };
    d.spec.template.spec.containers[0].image = image;
    return d;
  };
  const goodCommit = await release('v1.0.0', 'run-v1');
  const releaseCommit = await release('v2.0.0', runId);
  const sim = canary
    ? simulateRolloutController({
        kube,
        argo,
        environments: [{ application: APP, namespace: NS, path: ENV_PATH, rollout: 'web' }],
        readFile: (rev, file) => repo.show(rev, file),
        scenario: { stepMs: scenario.stepMs, ...scenario.canary },
      })
    : undefined;
  const deploymentSim = rolling
    ? simulateDeploymentController({
        kube,
        argo,
        environments: [{ application: APP, namespace: NS, path: ENV_PATH, deployment: 'web' }],
        readFile: (rev, file) => repo.show(rev, file),
        scenario: { stepMs: scenario.stepMs, ...scenario.rolling },
      })
    : undefined;
  argo.addApplication(APP, { revision: goodCommit });
  sim?.seedHealthy(APP, rolloutManifest('ghcr.io/acme/web:v1.0.0', true));
  deploymentSim?.seedAvailable(APP, deploymentManifest('ghcr.io/acme/web:v1.0.0'));

  // The live Rollout: v1 fully promoted and Healthy.
  const goodImage = 'ghcr.io/acme/web:v1.0.0';
  let stableHash = podHash(goodImage);
  if (!canary && !rolling) {
    const created = kube.upsert(rolloutManifest(goodImage) as KubeObject);
    kube.patchStatus('rollouts', NS, 'web', healthyStatus(created.metadata.generation!, stableHash));
  }

  function healthyStatus(generation: number, hash: string): Json {
    return {
      phase: 'Healthy',
      observedGeneration: String(generation),
      currentPodHash: hash,
      stableRS: hash,
      abort: false,
      pauseConditions: [],
      controllerPause: false,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
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
    };
  }

  const get = () => kube.get('rollouts', NS, 'web')!;
  const status = () => (get().status ?? {}) as Json;
  const patch = (s: Json) => kube.patchStatus('rollouts', NS, 'web', s);

  function createRun(kind: 'PrePromotion' | 'PostPromotion', hash: string): string {
    const rollout = get();
    const name = `web-${hash}-${kind === 'PrePromotion' ? 'pre' : 'post'}`;
    kube.upsert({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AnalysisRun',
      metadata: {
        name,
        namespace: NS,
        labels: { 'rollout-type': kind, 'rollouts-pod-template-hash': hash },
        ownerReferences: [
          { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'web', uid: rollout.metadata.uid! },
        ],
      },
      spec: { metrics: [] },
      status: { phase: 'Running', startedAt: new Date().toISOString() },
    });
    return name;
  }

  function finishRun(name: string, phase: RunPhase, metric: string, value: string) {
    const counts =
      phase === 'Successful'
        ? { successful: 3 }
        : phase === 'Failed'
          ? { failed: 1 }
          : phase === 'Error'
            ? { error: 2 }
            : { inconclusive: 1 };
    kube.patchStatus('analysisruns', NS, name, {
      phase,
      message:
        phase === 'Successful'
          ? undefined
          : `metric "${metric}" assessed ${phase} due to ${phase.toLowerCase()} (1) > limit (0)`,
      metricResults: [
        {
          name: metric,
          phase,
          count: 3,
          ...counts,
          measurements: [
            { phase, value, startedAt: new Date().toISOString(), finishedAt: new Date().toISOString() },
          ],
        },
      ],
    });
  }

  let postRun: string | undefined;
  let pendingPre: (() => void) | undefined;
  function finishPost() {
    if (!postRun) return;
    const hash = status().currentPodHash as string;
    finishRun(postRun, scenario.post, 'error-rate', scenario.post === 'Successful' ? '[0.002]' : '[0.12]');
    const bg = {
      ...(status().blueGreen as Json),
      postPromotionAnalysisRunStatus: { name: postRun, status: scenario.post },
    };
    if (scenario.post === 'Successful') {
      patch({ phase: 'Healthy', stableRS: hash, blueGreen: bg });
      stableHash = hash;
    } else patch({ blueGreen: bg });
  }

  // "Argo CD": a successful sync applies the Rollout from the synced commit.
  argo.onSynced(async (_app, revision, phase) => {
    if (phase !== 'Succeeded' || canary || rolling) return;
    const manifest = parse((await repo.show(revision, `${ENV_PATH}/rollout-web.yaml`))!) as Json;
    const image = manifest.spec.template.spec.containers[0].image as string;
    if (scenario.pre === null) delete manifest.spec.strategy.blueGreen.prePromotionAnalysis;
    const stored = kube.upsert({
      ...manifest,
      metadata: { ...manifest.metadata, namespace: NS },
      status: get().status,
    } as KubeObject);
    const generation = stored.metadata.generation!;
    const hash = podHash(image);
    // "Argo Rollouts" from here on.
    if (hash === stableHash) {
      // Back to the stable spec (a revert): the controller drops the aborted stack.
      later(() => patch(healthyStatus(generation, hash)));
      return;
    }
    later(() => {
      patch({
        phase: 'Progressing',
        message: 'more replicas need to be updated',
        observedGeneration: String(generation),
        currentPodHash: hash,
        abort: false,
        pauseConditions: [],
        blueGreen: { activeSelector: stableHash, previewSelector: hash },
      });
      if (scenario.neverPause) return;
      later(() => {
        const bg: Json = { activeSelector: stableHash, previewSelector: hash };
        let preRun: string | undefined;
        if (scenario.pre !== null) {
          preRun = createRun('PrePromotion', hash);
          bg.prePromotionAnalysisRunStatus = { name: preRun, status: 'Running' };
        }
        patch({
          phase: 'Paused',
          message: 'BlueGreenPause',
          controllerPause: true,
          pauseConditions: [{ reason: 'BlueGreenPause', startTime: new Date().toISOString() }],
          blueGreen: bg,
        });
        if (!preRun || scenario.pre === null) return;
        const result = scenario.pre;
        const finish = () => {
          finishRun(preRun, result, 'http-smoke', result === 'Successful' ? 'ok' : 'down');
          patch({ blueGreen: { ...bg, prePromotionAnalysisRunStatus: { name: preRun, status: result } } });
          if (result === 'Failed' && scenario.controllerAbortsOnPreFailure) {
            patch({ abort: true, phase: 'Degraded', blueGreen: { ...bg, previewSelector: hash } });
          }
        };
        if (scenario.holdPre) pendingPre = finish;
        else later(finish);
      });
    });
  });

  // "Argo Rollouts" reacting to the actions Argo CD runs on the Rollout.
  argo.onAction(({ body }) => {
    if (body.kind !== 'Rollout' || canary || rolling) return;
    const hash = status().currentPodHash as string;
    if (body.action === 'resume') {
      patch({
        pauseConditions: [],
        controllerPause: false,
        phase: 'Progressing',
        message: 'active service cutover pending',
      });
      later(() => {
        postRun = createRun('PostPromotion', hash);
        patch({
          blueGreen: {
            activeSelector: hash,
            previewSelector: hash,
            postPromotionAnalysisRunStatus: { name: postRun, status: 'Running' },
          },
        });
        if (!scenario.holdPost) later(finishPost);
      });
    }
    if (body.action === 'abort') {
      patch({
        abort: true,
        abortedAt: new Date().toISOString(),
        phase: 'Degraded',
        message: 'RolloutAborted: Rollout aborted update to revision 2',
        pauseConditions: [],
        blueGreen: { activeSelector: stableHash, previewSelector: hash },
        conditions: [
          {
            type: 'Progressing',
            status: 'False',
            reason: 'RolloutAborted',
            message: 'Rollout aborted update to revision 2',
          },
        ],
      });
    }
  });

  const kc = new KubeConfig();
  kc.loadFromFile(kube.kubeconfigPath);
  const client = createArgoCdClient({
    server: argo.url,
    token: argo.token,
    retries: 2,
    backoffBaseMs: 20,
    timeoutMs: 2_000,
  });
  const rolloutSource = createKubeRolloutSource(kc, { backoffMs: 20, maxBackoffMs: 200 });
  const deploymentSource = createKubeDeploymentSource(kc, { backoffMs: 20, maxBackoffMs: 200 });
  const steps = redisSteps(redis, prefix);
  const statuses: Harness['statuses'] = [];
  const events: DeployEvent[] = [];
  const zapCalls: string[] = [];
  const reverts: RollbackReason[] = [];
  const clock = {
    offset: 0,
    now() {
      return Date.now() + clock.offset;
    },
  };

  const h: Harness = {
    kube,
    argo,
    repo,
    gitops,
    client,
    steps,
    stepsPrefix: prefix,
    stepsFor: (id) => redisSteps(redis, `${prefix}:${id}`),
    scenario,
    goodCommit,
    releaseCommit,
    runId,
    statuses,
    events,
    zapCalls,
    reverts,
    clock,
    ports: (overrides = {}) => ({
      argocd: client,
      rolloutSource,
      deploymentSource,
      zap: async (url) => {
        zapCalls.push(url);
        if (scenario.zapDelayMs) await new Promise((resolve) => setTimeout(resolve, scenario.zapDelayMs));
        return scenario.zap;
      },
      revert: async (reason) => {
        reverts.push(reason);
        const r = await revertAppEnv(gitops, {
          path: ENV_PATH,
          badCommit: reason.badCommit,
          runId: reason.runId,
          reason: `${reason.gate}: ${reason.reason}`,
          app: reason.app,
          env: reason.environment,
        });
        return { commitSha: r.commit! };
      },
      deploymentStatus: async (state, description) => {
        statuses.push({ state, description });
      },
      steps,
      notify: async (event) => {
        events.push(event);
      },
      clock,
      ...overrides,
    }),
    input: (overrides = {}) => ({
      runId,
      app: 'web',
      environment: 'production',
      revision: releaseCommit,
      sourceCommit: createHash('sha1').update('v2.0.0').digest('hex'),
      argocd: { application: APP },
      rollout: { namespace: NS, name: 'web' },
      previewUrl: 'http://web-preview.web-production.svc',
      promotion: 'auto',
      inconclusive: 'fail',
      progressDeadlineSeconds: 60,
      syncTimeoutSeconds: 10,
      ...overrides,
    }),
    rollout: () => get() as Json,
    release,
    finishPost,
    sim,
    deploymentSim,
    deployment: () => kube.get('deployments', NS, 'web') as Json | undefined,
    finishPre() {
      const f = pendingPre;
      pendingPre = undefined;
      f?.();
      return f !== undefined;
    },
    async until(predicate, what, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      client.close();
      await kube.close();
      await argo.close();
      await repo.cleanup();
      redis.disconnect();
      await deleteKeysWithPrefix(prefix);
    },
  };
  return h;
}
