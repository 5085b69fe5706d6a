import path from 'node:path';
import type { Config } from '../config.js';
import type { Executor } from './executor.js';
import { KubernetesExecutor, kubeConfigFor, type KubernetesExecutorOptions } from './kubernetes-executor.js';
import { LocalExecutor, type LocalExecutorOptions } from './local-executor.js';

export interface ExecutorOverrides {
  local?: LocalExecutorOptions;
  kubernetes?: Omit<Partial<KubernetesExecutorOptions>, 'kubeConfig' | 'namespace'>;
}

/**
 * The executor `SHIPGATE_EXECUTOR` selects. Local checkouts go under `<dataDir>/executions`;
 * Kubernetes uses `KUBECONFIG` when set, else the in-cluster service account.
 */
export function createExecutor(
  config: Pick<Config, 'executor' | 'kubeconfig' | 'gatesNamespace' | 'dataDir'>,
  overrides: ExecutorOverrides = {},
): Executor {
  if (config.executor === 'kubernetes') {
    return new KubernetesExecutor({
      ...overrides.kubernetes,
      kubeConfig: kubeConfigFor(config.kubeconfig),
      namespace: config.gatesNamespace,
    });
  }
  return new LocalExecutor({ workRoot: path.join(config.dataDir, 'executions'), ...overrides.local });
}
