import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { ConfigInvalid } from '../errors.js';
import { createExecutor } from '../executors/create-executor.js';
import { createGithubApp } from '../github/index.js';
import type { Logger } from '../logger.js';
import type { AllQueues } from '../queue/create-queues.js';
import { DeployLock } from '../runs/deploy-lock.js';
import { RunStore } from '../runs/run-store.js';
import { createEnvRepoPolicySource, envRepoOptions, githubWebUrl } from './env-repo.js';
import type { EngineContext } from './engine-context.js';

/** Builds the engine's context from validated config: once per `work` process. */
export function createEngineContext(deps: {
  config: Readonly<Config>;
  logger: Logger;
  redis: Redis;
  queues: AllQueues;
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
  });
  const envRepo = envRepoOptions(config, github);
  const workDir = path.join(config.dataDir, 'work');
  mkdirSync(workDir, { recursive: true });
  mkdirSync(envRepo.workDir, { recursive: true });
  const web = githubWebUrl(config.github.apiUrl);
  return {
    config,
    logger,
    runs: new RunStore(deps.redis, { prefix: `${config.queuePrefix}:runs` }),
    locks: new DeployLock(deps.redis, { prefix: `${config.queuePrefix}:deploy` }),
    queues: deps.queues,
    github,
    policy: createEnvRepoPolicySource(envRepo),
    executor: createExecutor(config),
    envRepo,
    cloneUrlOf: (repo) => `${web}/${repo}.git`,
    workDir,
    now: () => new Date(),
  };
}
