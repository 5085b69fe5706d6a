/* global module */
// Layer rules for src/ and workers/, run by `npm run lint` (scripts/check-layers.ts, which also
// refuses folder-level cycles). Only value imports count: `tsPreCompilationDeps: false` reads
// the code as it runs, so a type-only import (erased at build time) never creates a dependency.

/** Modules that talk to the outside world: Redis, queues, GitHub, git, Argo CD, Kubernetes, Slack, processes. */
const IO_MODULES = [
  '^src/(redis|queue|github|git|gitops|argocd|executors|process|slack|approvals|runs|audit|dora|recovery|redelivery|server|api|http|webhooks|console|auth|scratch|telemetry|metrics|commands)/',
  '^src/deploy/(watch-|wait-for-|hold-deploy-lease|preflight|run-deploy|run-step-plan)',
  '^src/(cli|config|logger|shutdown)\\.ts$',
  '^workers/',
];
/** npm packages and node built-ins that do I/O. */
const IO_PACKAGES = [
  '(^|/)node_modules/(ioredis|bullmq|@octokit|@kubernetes|@slack|fastify|@fastify|undici|pino|prom-client|@opentelemetry)/',
  '^(node:)?(fs|fs/promises|child_process|net|http|https|http2|dgram|dns|tls|worker_threads|cluster)$',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'A value import cycle makes start-up order matter. Move what both sides need to a leaf file.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'decisions-are-pure',
      comment:
        'src/engine/decisions holds pure functions: no I/O module, package or built-in, directly or through another module, and no other engine folder.',
      severity: 'error',
      from: { path: '^src/engine/decisions/' },
      to: {
        path: [...IO_MODULES, ...IO_PACKAGES, '^src/engine/(context|progress|stages|triggers)/'],
        reachable: true,
      },
    },
    {
      name: 'deploy-decisions-are-pure',
      comment: 'The pure deploy decisions (evaluate-*, plan-*, checks, names) do no I/O either.',
      severity: 'error',
      from: {
        path: '^src/deploy/(evaluate-|plan-|checks|deploy-names|rollout-abort-wording|step-plan|strategies)',
      },
      to: { path: [...IO_MODULES, ...IO_PACKAGES, '^src/engine/'], reachable: true },
    },
    {
      name: 'engine-context-is-below-the-engine',
      comment: "context/ is what the engine talks to; it never reaches back up into a run's flow.",
      severity: 'error',
      from: { path: '^src/engine/context/' },
      to: { path: '^src/engine/(progress|stages|triggers)/' },
    },
    {
      name: 'engine-progress-is-below-stages-and-triggers',
      severity: 'error',
      from: { path: '^src/engine/progress/' },
      to: { path: '^src/engine/(stages|triggers)/' },
    },
    {
      name: 'engine-stages-and-triggers-are-apart',
      comment:
        'Triggers start runs and stages run them; what both need lives in progress/, context/ or decisions/.',
      severity: 'error',
      from: { path: '^src/engine/(stages|triggers)/' },
      to: { path: '^src/engine/(stages|triggers)/', pathNot: '^src/engine/$1/' },
    },
    {
      name: 'clients-and-domain-do-not-import-the-engine',
      comment: 'Clients only talk and domain modules only decide; the engine calls them, never the reverse.',
      severity: 'error',
      from: {
        path: '^src/(github|git|gitops|argocd|executors|process|slack|redis|queue|retry|policy|pipeline|gates|deploy|runs|masking|yaml)/',
      },
      to: { path: '^src/engine/' },
    },
    {
      name: 'product-does-not-import-tests-or-simulators',
      severity: 'error',
      from: { path: '^(src|workers)/' },
      to: { path: '^(test|sandbox|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.tsx', '.js'],
      conditionNames: ['import', 'node', 'default'],
    },
  },
};
