/**
 * What every strategy's steps share for one deploy: the parsed input, the ports, the Argo CD
 * scope, status and notification helpers, and one lazily opened Rollout (or Deployment) watch. Built once per
 * `runDeploy`; the step lists close over it.
 */
import type { Logger } from '../logger.js';
import type { CheckRecord } from './checks.js';
import type { ParsedDeployInput } from './deploy-input.js';
import type { DeployEvent, DeployEventBody, DeployPorts, DeploymentState } from './ports.js';
import type { StepContext } from './step-plan.js';
import { DeployNotConfigured } from '../errors.js';
import type { DeploymentWatch } from './watch-deployment.js';
import type { RolloutWatch } from './watch-rollout.js';

const GITHUB_DESCRIPTION_MAX = 140;
/**
 * Well inside the Application-health step's 60 s deadline: the Argo CD client's own retries
 * (5 tries of up to 15 s) outlast that deadline against a server that accepts and never answers,
 * and a check that times out rolls back. @defaultValue 20000
 */
export const DEFAULT_APPLICATION_READ_MS = 20_000;

export interface DeployKit {
  input: ParsedDeployInput;
  ports: DeployPorts;
  scope: { appNamespace?: string; project?: string };
  log: Logger | undefined;
  /** How often to re-check Argo CD, and the longest quiet wait on the watch. */
  pollMs: number;
  /** How long a one-off read of the Application may take before it counts as "Argo CD unreachable". */
  applicationReadMs: number;
  /**
   * The Rollout watch, opened on first use and closed when the plan ends. `signal` only bounds
   * the opening; the watch itself lives as long as the deploy (a step's timeout must not close
   * it for the steps after).
   */
  watch(signal: AbortSignal): Promise<RolloutWatch>;
  /** The watch if a step opened it already (the rollback reads the Rollout from it). */
  openWatch(): RolloutWatch | undefined;
  /** Rolling: the Deployment watch, opened on first use and closed with the plan, like `watch`. */
  deploymentWatch(signal: AbortSignal): Promise<DeploymentWatch>;
  close(): void;
  status(state: DeploymentState, description: string): Promise<void>;
  /** Notifications never change a deploy's outcome: a Slack outage is logged, not thrown. */
  notify(event: DeployEventBody): Promise<void>;
  /** When the deploy started and when its progress deadline falls. */
  deadline(ctx: StepContext): { startedAt: number; deadlineAt: number };
  /** The passed checks recorded by the steps so far, in step order. */
  records(ctx: Pick<StepContext, 'outputs'>): CheckRecord[];
}

export function createDeployKit(
  input: ParsedDeployInput,
  ports: DeployPorts,
  timing: { pollMs: number; applicationReadMs?: number },
  deploySignal?: AbortSignal,
): DeployKit {
  const log = ports.logger?.child({ runId: input.runId, app: input.app, environment: input.environment });
  let watch: Promise<RolloutWatch> | undefined;
  let opened: RolloutWatch | undefined;
  let deployments: Promise<DeploymentWatch> | undefined;
  let openedDeployments: DeploymentWatch | undefined;
  return {
    input,
    ports,
    scope: {
      ...(input.argocd.appNamespace ? { appNamespace: input.argocd.appNamespace } : {}),
      ...(input.argocd.project ? { project: input.argocd.project } : {}),
    },
    log,
    pollMs: timing.pollMs,
    applicationReadMs: timing.applicationReadMs ?? DEFAULT_APPLICATION_READ_MS,
    watch(signal) {
      signal.throwIfAborted();
      watch ??= ports.rolloutSource.open(input.rollout, deploySignal).then((w) => (opened = w));
      // A failed open is not cached: the next step (or attempt) opens again.
      watch.catch(() => (watch = undefined));
      return watch;
    },
    openWatch: () => opened,
    deploymentWatch(signal) {
      signal.throwIfAborted();
      const source = ports.deploymentSource;
      if (source === undefined) {
        return Promise.reject(DeployNotConfigured('rolling needs the Kubernetes API (KUBECONFIG)'));
      }
      deployments ??= source.open(input.rollout, deploySignal).then((w) => (openedDeployments = w));
      deployments.catch(() => (deployments = undefined));
      return deployments;
    },
    close() {
      opened?.close();
      opened = undefined;
      watch = undefined;
      openedDeployments?.close();
      openedDeployments = undefined;
      deployments = undefined;
    },
    async status(state, description) {
      const text =
        description.length > GITHUB_DESCRIPTION_MAX
          ? `${description.slice(0, GITHUB_DESCRIPTION_MAX - 1)}…`
          : description;
      await ports.deploymentStatus(state, text);
    },
    async notify(event) {
      const full = {
        runId: input.runId,
        app: input.app,
        environment: input.environment,
        revision: input.revision,
        ...event,
      } as DeployEvent;
      try {
        await ports.notify(full);
      } catch (err) {
        log?.warn({ err: String(err), event: full.type }, 'notify failed');
      }
    },
    deadline(ctx) {
      const started = ctx.outputs.get('started') as { at: number };
      return { startedAt: started.at, deadlineAt: started.at + input.progressDeadlineSeconds * 1000 };
    },
    records(ctx) {
      const out: CheckRecord[] = [];
      for (const value of ctx.outputs.values()) {
        const record = (value as { record?: CheckRecord } | undefined)?.record;
        if (record) out.push(record);
      }
      return out;
    },
  };
}
