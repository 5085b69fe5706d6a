import { Gauge, Histogram, type Registry } from 'prom-client';
import { computeDora } from './compute-dora.js';
import type { DeployHistory } from './deploy-history.js';
import type { DoraFigures } from './types.js';

export interface DoraMetricsOptions {
  /** The window of the gauges. @defaultValue 30 days */
  windowDays?: number;
  now?: () => Date;
  /** Most app/environment pairs exported (bounded labels). @defaultValue 200 */
  maxPairs?: number;
}

const HOUR = 3600;
/** Lead time and restore time buckets: 5 minutes to 30 days. */
const DURATION_BUCKETS = [
  300,
  900,
  HOUR,
  4 * HOUR,
  12 * HOUR,
  24 * HOUR,
  3 * 24 * HOUR,
  7 * 24 * HOUR,
  30 * 24 * HOUR,
];

/**
 * The DORA measures as Prometheus metrics, computed from the deploy history in Redis at each
 * scrape, so they survive restarts and read the same from every replica. Labels are `app` and
 * `env` only (at most `maxPairs` pairs).
 *
 * - `shipgate_dora_deployments{app,env,outcome}`: release deploys in the window (gauge);
 * - `shipgate_dora_deployment_frequency_per_day{app,env}`;
 * - `shipgate_dora_change_failure_rate{app,env}` (absent without deploys);
 * - `shipgate_dora_lead_time_seconds{app,env}`: median, plus the histogram
 *   `shipgate_dora_lead_time_distribution_seconds` of the window's releases;
 * - `shipgate_dora_time_to_restore_seconds{app,env}`: median, plus
 *   `shipgate_dora_time_to_restore_distribution_seconds`.
 */
export function registerDoraMetrics(
  registry: Registry,
  history: DeployHistory,
  options: DoraMetricsOptions = {},
) {
  // A registry shared by two servers (tests) gets the metrics once.
  if (registry.getSingleMetric('shipgate_dora_deployments') !== undefined) return;
  const windowDays = options.windowDays ?? 30;
  const now = options.now ?? (() => new Date());
  let pending: Promise<DoraFigures[]> | undefined;
  // One Redis read per scrape, shared by every metric's collect().
  const figures = (): Promise<DoraFigures[]> => {
    pending ??= (async () => {
      const [pairs, records] = await Promise.all([history.pairs(options.maxPairs ?? 200), history.all()]);
      const to = now();
      const from = new Date(to.getTime() - windowDays * 86_400_000);
      return pairs.map((p) => computeDora(records, p.app, p.env, from, to));
    })().finally(() => setTimeout(() => (pending = undefined), 0));
    return pending;
  };

  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    set: (g: Gauge<L>, f: DoraFigures) => void,
  ) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const f of await figures()) set(this, f);
      },
    });

  gauge(
    'shipgate_dora_deployments',
    `Release deploys in the last ${windowDays} days`,
    ['app', 'env', 'outcome'],
    (g, f) => {
      g.set({ app: f.app, env: f.env, outcome: 'succeeded' }, f.deployments);
      g.set({ app: f.app, env: f.env, outcome: 'failed' }, f.failedDeployments);
    },
  );
  gauge(
    'shipgate_dora_deployment_frequency_per_day',
    'Successful release deploys per day',
    ['app', 'env'],
    (g, f) => g.set({ app: f.app, env: f.env }, f.deploymentFrequencyPerDay),
  );
  gauge(
    'shipgate_dora_change_failure_rate',
    'Release deploys rolled back (automatically or by hand) over all',
    ['app', 'env'],
    (g, f) => {
      if (f.changeFailureRate !== null) g.set({ app: f.app, env: f.env }, f.changeFailureRate);
    },
  );
  gauge('shipgate_dora_lead_time_seconds', 'Median first commit to live', ['app', 'env'], (g, f) => {
    if (f.leadTimeSeconds.median !== null) g.set({ app: f.app, env: f.env }, f.leadTimeSeconds.median);
  });
  gauge(
    'shipgate_dora_time_to_restore_seconds',
    'Median failed deploy to next healthy deploy',
    ['app', 'env'],
    (g, f) => {
      if (f.timeToRestoreSeconds.median !== null)
        g.set({ app: f.app, env: f.env }, f.timeToRestoreSeconds.median);
    },
  );
  const histogram = (name: string, help: string, values: (f: DoraFigures) => number[]) =>
    new Histogram<'app' | 'env'>({
      name,
      help,
      labelNames: ['app', 'env'],
      buckets: DURATION_BUCKETS,
      registers: [registry],
      async collect() {
        this.reset();
        for (const f of await figures())
          for (const v of values(f)) this.observe({ app: f.app, env: f.env }, v);
      },
    });
  histogram(
    'shipgate_dora_lead_time_distribution_seconds',
    'First commit to live, per release in the window',
    (f) => f.leadTimeSeconds.values,
  );
  histogram(
    'shipgate_dora_time_to_restore_distribution_seconds',
    'Failure to next healthy deploy, per failure in the window',
    (f) => f.timeToRestoreSeconds.values,
  );
}
