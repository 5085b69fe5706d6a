import { configSecrets, createSecretMasker } from '../../masking/secret-masker.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { RedisClient } from '../../redis/connection.js';
import type { Config } from '../../config.js';
import { ConfigInvalid } from '../../errors.js';
import type { ApprovalDeps } from '../../approvals/approval-deps.js';
import { ApprovalStore } from '../../approvals/approval-store.js';
import { createArgoCdClient } from '../../argocd/argocd-client.js';
import { createKubeDeploymentSource } from '../../deploy/watch-deployment.js';
import { createKubeRolloutSource } from '../../deploy/watch-rollout.js';
import {
  createExecutor,
  logExecutorIsolation,
  type ExecutorOverrides,
} from '../../executors/create-executor.js';
import { kubeConfigFor } from '../../executors/kubernetes-executor.js';
import { createGithubApp, type GithubAppOptions } from '../../github/index.js';
import { MessageLedger } from '../../slack/message-ledger.js';
import { createNotifier } from '../../slack/notify.js';
import { createSlackClient } from '../../slack/slack-client.js';
import { SlackUserDirectory } from '../../slack/user-directory.js';
import { readFileSync } from 'node:fs';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics/create-metrics.js';
import type { AllQueues } from '../../queue/create-queues.js';
import { AuditLog } from '../../audit/audit-log.js';
import { auditedPolicySource } from '../../audit/audited-policy-source.js';
import { DeployHistory } from '../../dora/deploy-history.js';
import { DeployLock } from '../../runs/deploy-lock.js';
import { WriteTurns } from '../../runs/write-turn.js';
import { RunStore } from '../../runs/run-store.js';
import { createEnvRepoPolicySource, envRepoOptions, githubWebUrl } from './env-repo.js';
import type { EngineContext } from './engine-context.js';

/** Tuning that is not configuration: tests use it to drop GitHub's write spacing, for instance. */
export interface EngineTuning {
  github?: Partial<
    Pick<GithubAppOptions, 'spaceWrites' | 'writeBurst' | 'retryAfterBaseMs' | 'requestTimeoutMs'>
  >;
  argocdTimeoutMs?: number;
  /** Extra executor settings, e.g. folders a test's stand-in scanners need inside the sandbox. */
  executor?: ExecutorOverrides;
}

/** Builds the engine's context from validated config: once per `work` process. */
export function createEngineContext(deps: {
  config: Readonly<Config>;
  logger: Logger;
  redis: RedisClient;
  queues: AllQueues;
  metrics?: Metrics;
  tuning?: EngineTuning;
}): EngineContext {
  const { config, logger } = deps;
  if (config.github.appId === undefined || config.github.privateKey === undefined) {
    throw ConfigInvalid('GITHUB_APP_ID', 'and a private key are required to run the pipeline workers');
  }
  const github = createGithubApp({
    appId: config.github.appId,
    privateKey: config.github.privateKey,
    apiUrl: config.github.apiUrl,
    logger,
    outgoingTextMasker: createSecretMasker(configSecrets(config)),
    ...deps.tuning?.github,
  });
  const { argocd: argo, slack } = config;
  // `loadConfig` refuses a partial Argo CD configuration; this repeats the rule for a config
  // built another way, because turning Argo CD off here once let releases commit unverified.
  if ((argo.server === undefined) !== (argo.token === undefined)) {
    throw ConfigInvalid(
      argo.server === undefined ? 'ARGOCD_SERVER' : 'ARGOCD_TOKEN',
      'ARGOCD_SERVER and ARGOCD_TOKEN are set together or not at all',
    );
  }
  const argocd =
    argo.server === undefined || argo.token === undefined
      ? undefined
      : createArgoCdClient({
          server: argo.server,
          token: argo.token,
          insecure: argo.insecure,
          logger,
          ...(argo.caFile ? { ca: readFileSync(argo.caFile) } : {}),
          ...(deps.tuning?.argocdTimeoutMs ? { timeoutMs: deps.tuning.argocdTimeoutMs } : {}),
        });
  const kubeConfig = loadDeployKubeConfig(config);
  const rolloutSource = kubeConfig ? createKubeRolloutSource(kubeConfig, { logger }) : undefined;
  const deploymentSource = kubeConfig ? createKubeDeploymentSource(kubeConfig, { logger }) : undefined;
  const slackPrefix = `${config.queuePrefix}:slack`;
  const slackClient =
    slack.botToken === undefined
      ? undefined
      : createSlackClient({ token: slack.botToken, apiUrl: slack.apiUrl, logger });
  const ledger = slackClient ? new MessageLedger(deps.redis, `${slackPrefix}:ledger`, { logger }) : undefined;
  // One store whether or not Slack is configured: Slack, the API and the CLI count votes in it.
  const approvalStore = new ApprovalStore(deps.redis, `${slackPrefix}:approvals`);
  const approvals: ApprovalDeps = {
    store: approvalStore,
    ...(slackClient && ledger
      ? { slack: slackClient, ledger, directory: new SlackUserDirectory(slackClient, { logger }) }
      : {}),
    logger,
  };
  const notifier = slackClient && ledger ? createNotifier({ slack: slackClient, ledger, logger }) : undefined;
  const envRepo = envRepoOptions(
    config,
    github,
    new WriteTurns(deps.redis, { prefix: `${config.queuePrefix}:gitops` }),
  );
  const workDir = path.join(config.dataDir, 'work');
  mkdirSync(workDir, { recursive: true });
  mkdirSync(envRepo.workDir, { recursive: true });
  const web = githubWebUrl(config.github.apiUrl);
  const executor = createExecutor(config, deps.tuning?.executor);
  void logExecutorIsolation(executor, logger);
  const audit = new AuditLog(deps.redis, {
    prefix: `${config.queuePrefix}:audit`,
    retentionDays: config.auditRetentionDays,
  });
  return {
    config,
    logger,
    runs: new RunStore(deps.redis, { prefix: `${config.queuePrefix}:runs` }),
    locks: new DeployLock(deps.redis, { prefix: `${config.queuePrefix}:deploy` }),
    queues: deps.queues,
    github,
    policy: auditedPolicySource(createEnvRepoPolicySource(envRepo), audit, logger),
    executor,
    envRepo,
    cloneUrlOf: (repo) => `${web}/${repo}.git`,
    workDir,
    argocd,
    rolloutSource,
    deploymentSource,
    approvals,
    approvalStore,
    notifier,
    metrics: deps.metrics,
    audit,
    dora: new DeployHistory(deps.redis, { prefix: `${config.queuePrefix}:dora` }),
    now: () => new Date(),
  };
}

/**
 * The cluster configuration deploys watch their Rollouts with. With Argo CD on, every deploy
 * watches its Rollout, so a cluster Shipgate cannot reach is a configuration error (thrown as
 * `SHIPGATE_E_CONFIG_INVALID`), not a reason to deploy without watching. Without Argo CD no
 * deploy runs, and the result is undefined when no usable configuration is found. `work` calls
 * this at start-up, so a broken kubeconfig stops the start rather than the first deploy.
 */
export function loadDeployKubeConfig(config: Readonly<Config>): KubeConfig | undefined {
  const required = config.argocd.server !== undefined;
  const where = config.kubeconfig ?? 'the in-cluster configuration';
  let kubeConfig: KubeConfig;
  try {
    kubeConfig = kubeConfigFor(config.kubeconfig);
  } catch (err) {
    if (!required) return undefined;
    // The parser's message quotes the file, and a kubeconfig holds credentials: name the error only.
    throw ConfigInvalid('KUBECONFIG', `${where} is not a readable kubeconfig (${(err as Error).name})`);
  }
  if (kubeConfig.getCurrentCluster() === null) {
    if (!required) return undefined;
    throw ConfigInvalid('KUBECONFIG', `${where} names no current cluster`);
  }
  return kubeConfig;
}
