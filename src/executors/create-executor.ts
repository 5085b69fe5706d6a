import path from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { configSecrets, createSecretMasker } from '../masking/secret-masker.js';
import type { Executor } from './executor.js';
import { KubernetesExecutor, kubeConfigFor, type KubernetesExecutorOptions } from './kubernetes-executor.js';
import { LocalExecutor, type LocalExecutorOptions } from './local-executor.js';

export interface ExecutorOverrides {
  local?: Partial<LocalExecutorOptions>;
  kubernetes?: Omit<Partial<KubernetesExecutorOptions>, 'kubeConfig' | 'namespace'>;
}

export type ExecutorConfig = Pick<
  Config,
  | 'executor'
  | 'gateNetwork'
  | 'kubeconfig'
  | 'gatesNamespace'
  | 'dataDir'
  | 'github'
  | 'slack'
  | 'argocd'
  | 'apiToken'
  | 'redisUrl'
>;

/**
 * The executor `SHIPGATE_EXECUTOR` selects. Local checkouts go under `<dataDir>/executions`
 * and run in a bubblewrap sandbox (`local`) or, explicitly, without one (`local-unsandboxed`);
 * Kubernetes uses `KUBECONFIG` when set, else the in-cluster service account. Every executor's
 * output is masked for the secrets in the configuration.
 */
export function createExecutor(config: ExecutorConfig, overrides: ExecutorOverrides = {}): Executor {
  const masker = createSecretMasker(configSecrets(config));
  if (config.executor === 'kubernetes') {
    return new KubernetesExecutor({
      masker,
      ...overrides.kubernetes,
      kubeConfig: kubeConfigFor(config.kubeconfig),
      namespace: config.gatesNamespace,
    });
  }
  return new LocalExecutor({
    workRoot: path.join(config.dataDir, 'executions'),
    isolation: config.executor === 'local-unsandboxed' ? 'unsandboxed' : 'sandbox',
    network: config.gateNetwork,
    masker,
    // Never mounted in the first place; listed so a PATH folder or /etc entry holding one is covered.
    hiddenPaths: [config.dataDir, config.kubeconfig, config.argocd.caFile].filter(
      (p): p is string => p !== undefined,
    ),
    ...overrides.local,
  });
}

/**
 * Says at start-up how gates are isolated: one info line with the sandbox, one loud warning
 * without it, and the one-line reason when `local` cannot run gates on this host.
 */
export async function logExecutorIsolation(executor: Executor, logger: Logger): Promise<void> {
  if (!(executor instanceof LocalExecutor)) {
    logger.info({ executor: executor.kind }, 'gates run as Kubernetes Jobs');
    return;
  }
  const { ok, line } = await executor.describeIsolation().catch((err: unknown) => ({
    ok: false,
    line: `cannot tell whether gates can be sandboxed: ${String(err)}`,
  }));
  if (ok) logger.info({ executor: 'local' }, line);
  else logger.warn({ executor: 'local' }, line);
}
