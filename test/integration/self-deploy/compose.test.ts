import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { COMMANDS } from '../../../src/commands/index.js';
import { CONFIG_VARIABLES } from '../../../src/config.js';
import { Redis } from 'ioredis';
import { DeployHistory } from '../../../src/dora/deploy-history.js';
import { registerDoraMetrics } from '../../../src/dora/dora-metrics.js';
import { createMetrics } from '../../../src/metrics/create-metrics.js';

/** The compose file and `.env.example` must speak the CLI and config the code really has. */
describe('docker-compose.yml', () => {
  const doc = parseDocument(readFileSync('docker-compose.yml', 'utf8'), { merge: true });
  const compose = doc.toJS({ maxAliasCount: 50 }) as {
    services: Record<string, { command?: string[]; environment?: Record<string, string>; image?: string }>;
  };

  it('parses, with redis, serve and work', () => {
    expect(doc.errors).toEqual([]);
    expect(Object.keys(compose.services).sort()).toEqual(['redis', 'shipgate-serve', 'shipgate-work']);
  });

  it('runs only commands the CLI has', () => {
    const names = COMMANDS.map((c) => c.name);
    for (const name of ['shipgate-serve', 'shipgate-work']) {
      const command = compose.services[name]!.command!;
      expect(names).toContain(command[0]);
    }
  });

  it('sets only environment variables the config reads', () => {
    for (const name of ['shipgate-serve', 'shipgate-work']) {
      for (const variable of Object.keys(compose.services[name]!.environment ?? {})) {
        expect(Object.keys(CONFIG_VARIABLES)).toContain(variable);
      }
    }
  });

  it('keeps Redis durable for the queue: AOF on and noeviction', () => {
    const redis = compose.services.redis as { command: string[] };
    expect(redis.command.join(' ')).toMatch(/--appendonly yes/);
    expect(redis.command.join(' ')).toMatch(/--maxmemory-policy noeviction/);
  });
});

describe('.env.example', () => {
  const text = readFileSync('.env.example', 'utf8');
  const mentioned = new Set([...text.matchAll(/^#?\s*([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));

  it('documents every variable the config reads, and no other', () => {
    expect([...mentioned].sort()).toEqual(Object.keys(CONFIG_VARIABLES).sort());
  });
});

describe('monitoring', () => {
  const exported = (() => {
    const metrics = createMetrics({ processMetrics: true });
    // The DORA collectors read Redis only when scraped; naming them needs no connection.
    const redis = new Redis({ lazyConnect: true });
    registerDoraMetrics(metrics.registry, new DeployHistory(redis, { prefix: 'unused' }));
    redis.disconnect();
    return new Set(metrics.registry.getMetricsAsArray().map((m) => m.name));
  })();
  const referenced = (file: string) =>
    [...readFileSync(file, 'utf8').matchAll(/\b(shipgate_[a-z_]+)/g)]
      .map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))
      .filter((name) => name !== 'shipgate_');

  it.each([
    'manifests/components/monitoring/prometheusrule.yaml',
    'manifests/components/monitoring/dashboards/shipgate.json',
  ])('%s uses only metrics Shipgate exports', (file) => {
    for (const name of referenced(file)) expect(exported, name).toContain(name);
  });

  it('scales workers on queues that exist', () => {
    const scaled = parse(
      readFileSync('manifests/components/keda/scaledobject-work.yaml', 'utf8').split('\n---\n')[0]!,
    ) as {
      spec: { triggers: { metadata: { listName: string } }[] };
    };
    for (const trigger of scaled.spec.triggers) {
      expect(trigger.metadata.listName).toMatch(
        /^shipgate:(webhook|test|trivy|zap|render|deploy|approval|notify):wait$/,
      );
    }
  });
});
