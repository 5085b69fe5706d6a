/** The strategy per environment: chosen in `.shipgate.yml`, bounded by the platform policy. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planEnvironments } from '../../../src/engine/decisions/deploy-targets.js';
import { deployNames } from '../../../src/deploy/deploy-names.js';
import { parsePipelineConfig } from '../../../src/pipeline/parse-pipeline-config.js';
import { examplePolicy } from '../policy/policy-fixtures.js';

const PIPELINE_TEXT = readFileSync(new URL('../pipeline/examples/shipgate.yml', import.meta.url), 'utf8');

function pipelineWith(environments: string) {
  const text = PIPELINE_TEXT.replace(/^environments:[\s\S]*$/m, `environments:\n${environments}\n`);
  const result = parsePipelineConfig(text);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

describe('planEnvironments: the strategy per environment', () => {
  const pipeline = pipelineWith(
    ['  - name: staging', '    strategy: rolling', '  - name: production', '    strategy: canary'].join('\n'),
  );

  it('a policy that requires blue-green refuses rolling and canary, with the reason', () => {
    const plan = planEnvironments(pipeline, examplePolicy(), 'acme/web-shop');
    expect(plan.environments).toEqual([]);
    expect(plan.refused).toEqual([
      {
        env: 'staging',
        reason: '.shipgate.yml asks for rolling, but the platform policy requires blueGreen in staging',
      },
      {
        env: 'production',
        reason: '.shipgate.yml asks for canary, but the platform policy requires blueGreen in production',
      },
    ]);
  });

  it('without that requirement each environment keeps its own strategy; the workload name follows it', () => {
    const policy = examplePolicy();
    for (const env of Object.values(policy.environments)) env.requireBlueGreen = false;
    const plan = planEnvironments(pipeline, policy, 'acme/web-shop');
    expect(plan.environments.map((e) => [e.target.env, e.strategy])).toEqual([
      ['staging', 'rolling'],
      ['production', 'canary'],
    ]);
    const files = ['deployment-shop.yaml', 'rollout-shop-canary.yaml', 'service-shop.yaml'];
    expect(deployNames(plan.environments[0]!, files, '/').rollout).toBe('shop');
    expect(deployNames(plan.environments[1]!, files, '/').rollout).toBe('shop-canary');
  });
});
