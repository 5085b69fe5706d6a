import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { decideApprove, slackIdentityOf } from '../auth/access-decisions.js';
import type { ConsoleAuth } from '../auth/console-auth.js';
import { ApprovalStore } from '../approvals/approval-store.js';
import type { ArgoCdClient } from '../argocd/argocd-client.js';
import type { EnvironmentCell } from '../console/env-repo-view.js';
import { AccessPolicyUnavailable, BadRequest, Forbidden } from '../errors.js';
import type { RunStore } from '../runs/run-store.js';
import { ResourceName } from '../runs/run-types.js';

/**
 * What the console pages need beyond the runs API:
 *
 *   GET  /api/environments        { apps, environments, cells: [{ app, env, version, commit, envCommit,
 *                                   liveSince, by, health, previous: [{ version, commit, at }] }] }
 *   GET  /api/approvals           [{ runId, app, env, version, releaser, required,
 *                                   approvals: [{ by, at, decision }], expiresAt, canDecide, whyNot? }]
 *   POST /api/rollbacks/preview   { app, env, to } → { diff, from, to }     (operators of env)
 */
export interface ConsoleRoutesOptions {
  auth: ConsoleAuth;
  runs: RunStore;
  approvals: ApprovalStore;
  /** Health per Argo CD Application (`<app>-<env>`); undefined: every cell is 'Unknown'. */
  argocd?: Pick<ArgoCdClient, 'getApplication'>;
}

const PreviewBody = z
  .object({
    app: ResourceName,
    env: ResourceName,
    to: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+/-]{0,127}$/, 'expected a tag or a commit sha'),
  })
  .strict();

// The env-repo view (git checkouts, manifest diffs, rollback planning) is loaded by the first
// request that reads the env repo, not by `shipgate serve` at start: it is idle memory otherwise,
// and that request clones or fetches the env repo anyway, which takes far longer than the import.
const envRepoView = () => import('../console/env-repo-view.js');

export function consoleRoutes(options: ConsoleRoutesOptions): FastifyPluginAsync {
  const { auth } = options;
  const needPolicy = async (request: Parameters<typeof auth.guard.rolesOf>[0]) => {
    const who = await auth.guard.rolesOf(request);
    if (!who.policy) throw AccessPolicyUnavailable('ENV_REPO is not readable by this server');
    return { ...who, policy: who.policy };
  };

  return async (app) => {
    app.get('/api/environments', { preHandler: auth.guard.viewer }, async (request, reply) => {
      const { policy } = await needPolicy(request);
      if (!auth.envRepo) throw AccessPolicyUnavailable('ENV_REPO is not readable by this server');
      const { readEnvironments } = await envRepoView();
      const raw = await readEnvironments(auth.envRepo, policy, {
        whoOfRun: async (runId) => {
          const run = await options.runs.getRun(runId);
          if (!run) return undefined;
          if (run.kind !== 'rollback') return run.releaser;
          // A rollback run's releaser field holds the label it was asked with; the actor is in its log.
          const asked = (await options.runs.getEvents(runId)).find((e) => e.type === 'rollback-requested');
          const actor = asked?.data?.actor;
          return typeof actor === 'string' ? actor : run.releaser;
        },
      });
      const cells: EnvironmentCell[] = await Promise.all(
        raw.map(async (cell) => ({
          ...cell,
          health: await healthOf(options.argocd, `${cell.app}-${cell.env}`),
        })),
      );
      void reply.header('cache-control', 'no-store');
      return {
        apps: [...new Set(cells.map((c) => c.app))].sort(),
        environments: Object.keys(policy.environments),
        cells,
      };
    });

    app.get('/api/approvals', { preHandler: auth.guard.viewer }, async (request, reply) => {
      const { principal, roles, policy } = await auth.guard.rolesOf(request);
      const page = await options.runs.listRuns({ state: 'awaiting-approval', limit: 100 });
      const items = [];
      for (const run of page.runs) {
        const env = run.currentEnv;
        if (env === undefined) continue;
        const req = await options.approvals.getRequest(run.id, env);
        const rule =
          policy && Object.hasOwn(policy.environments, env) ? policy.environments[env]?.approval : undefined;
        const decision = decideApprove(principal, roles, {
          env,
          releaser: run.releaser,
          releaserMayApprove: rule?.releaserMayApprove ?? false,
          decision: 'approve',
        });
        const mapped =
          principal.via === 'token' ||
          (policy !== undefined && slackIdentityOf(policy, principal.login) !== undefined);
        const whyNot = !decision.allowed
          ? decision.reason
          : mapped
            ? undefined
            : 'your GitHub login has no Slack identity under identities in the platform policy';
        items.push({
          runId: run.id,
          app: run.app ?? null,
          env,
          version: run.tag ?? null,
          releaser: run.releaser,
          required: req?.rule.required ?? rule?.required ?? 1,
          // The store counts the votes; the run keeps what each approver wrote with theirs.
          approvals: req
            ? req.votes.map((v) => {
                const comment = run.approvals.find(
                  (a) => a.env === env && a.slackUserId === v.userId,
                )?.comment;
                return {
                  by: v.userName ?? v.userId,
                  at: v.at.toISOString(),
                  decision: v.decision,
                  ...(comment === undefined ? {} : { comment }),
                };
              })
            : run.approvals
                .filter((a) => a.env === env)
                .map((a) => ({
                  by: a.slackUserId,
                  at: a.at,
                  decision: a.decision,
                  ...(a.comment === undefined ? {} : { comment: a.comment }),
                })),
          expiresAt: req ? req.expiresAt.toISOString() : null,
          canDecide: whyNot === undefined,
          ...(whyNot === undefined ? {} : { whyNot }),
        });
      }
      void reply.header('cache-control', 'no-store');
      return items;
    });

    app.post(
      '/api/rollbacks/preview',
      { preHandler: auth.guard.scope('rollback') },
      async (request, reply) => {
        const parsed = PreviewBody.safeParse(request.body ?? {});
        if (!parsed.success) {
          const first = parsed.error.issues[0];
          throw BadRequest(first ? `${first.path.join('.') || 'body'}: ${first.message}` : 'invalid body');
        }
        const { principal, roles, policy } = await needPolicy(request);
        const byScope =
          principal.via === 'token' && (principal.scope === 'admin' || principal.scope === 'rollback');
        if (!byScope && !roles.operatorOf.includes(parsed.data.env)) {
          throw Forbidden(`you are not an operator for ${parsed.data.env}`);
        }
        if (!auth.envRepo) throw AccessPolicyUnavailable('ENV_REPO is not readable by this server');
        const { previewRollback } = await envRepoView();
        const preview = await previewRollback(auth.envRepo, policy, parsed.data);
        void reply.header('cache-control', 'no-store');
        return preview;
      },
    );
  };
}

async function healthOf(argocd: ConsoleRoutesOptions['argocd'], application: string): Promise<string> {
  if (!argocd) return 'Unknown';
  try {
    const app = await argocd.getApplication(application, { signal: AbortSignal.timeout(3000) });
    return app.status?.health?.status ?? 'Unknown';
  } catch {
    return 'Unknown';
  }
}
