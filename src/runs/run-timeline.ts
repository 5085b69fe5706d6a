import type { Run, RunEvent } from './run-types.js';

/**
 * A run's timeline for the console: its event log folded into ordered stages (trigger, gates,
 * approvals, env-repo commits, deploys, rollback), each with a start, an end, an outcome and
 * the facts the log holds. Pure: built from the record and the log, nothing else.
 */
export interface TimelineStage {
  /** `trigger`, `gate:<name>`, `approval:<env>`, `commit:<env>`, `deploy:<env>`, `rollback`. */
  name: string;
  kind: 'trigger' | 'gate' | 'approval' | 'commit' | 'deploy' | 'rollback';
  env?: string;
  startedAt: string;
  /** Unset while the stage is still going. */
  endedAt?: string;
  /** `success`, `failure`, `approved`, `rejected`, `rolled-back`, `running`, … */
  outcome: string;
  detail: Record<string, unknown>;
  /** The log entries of the stage (deploy steps, notices), oldest first. */
  steps: Array<{ at: string; type: string; message: string }>;
}

const TERMINAL_OUTCOME: Record<string, string> = {
  succeeded: 'success',
  failed: 'failure',
  'rolled-back': 'rolled-back',
  cancelled: 'cancelled',
  superseded: 'superseded',
};

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export function buildTimeline(run: Run, events: readonly RunEvent[]): TimelineStage[] {
  const stages: TimelineStage[] = [];
  const open = new Map<string, TimelineStage>();
  let current: TimelineStage | undefined;

  const start = (stage: Omit<TimelineStage, 'steps'>): TimelineStage => {
    const s: TimelineStage = { ...stage, steps: [] };
    stages.push(s);
    open.set(s.name, s);
    return s;
  };
  const end = (name: string, at: string, outcome: string): void => {
    const s = open.get(name);
    if (!s) return;
    s.endedAt = at;
    s.outcome = outcome;
    open.delete(name);
  };

  for (const event of events) {
    const data = event.data ?? {};
    const env = event.transition?.env ?? str(data.env);
    if (event.type === 'created') {
      const s = start({
        name: 'trigger',
        kind: 'trigger',
        startedAt: event.at,
        outcome: 'success',
        detail: {
          kind: run.kind,
          repo: run.repo,
          ref: run.ref,
          sha: run.sha,
          ...(run.tag === undefined ? {} : { tag: run.tag }),
          ...(run.prNumber === undefined ? {} : { prNumber: run.prNumber }),
          releaser: run.releaser,
        },
      });
      end(s.name, event.at, 'success');
      continue;
    }
    if (event.type === 'gate') {
      const gate = str(data.gate) ?? 'gate';
      // Pre-deploy gates start with the run; gates during a deploy (ZAP, analysis) with the deploy.
      const s = start({
        name: `gate:${gate}`,
        kind: 'gate',
        ...(current && open.has(current.name) && current.env ? { env: current.env } : {}),
        startedAt: current && open.has(current.name) ? current.startedAt : run.createdAt,
        outcome: 'running',
        detail: { ...data },
      });
      end(s.name, event.at, str(data.conclusion) ?? 'done');
      continue;
    }
    if (event.type === 'commit' && env !== undefined) {
      const s = start({
        name: `commit:${env}`,
        kind: 'commit',
        env,
        startedAt: event.at,
        outcome: 'success',
        detail: { ...data },
      });
      end(s.name, event.at, 'success');
      continue;
    }
    if (event.type === 'rollback-requested') {
      const s = start({
        name: 'rollback',
        kind: 'rollback',
        ...(env ? { env } : {}),
        startedAt: event.at,
        outcome: 'running',
        detail: { ...data },
      });
      current = s;
      continue;
    }
    if ((event.type === 'approval-requested' || event.type === 'approval') && env !== undefined) {
      // A decision may arrive with no request recorded before it: it opens its own stage.
      if (!open.has(`approval:${env}`)) {
        start({
          name: `approval:${env}`,
          kind: 'approval',
          env,
          startedAt: event.at,
          outcome: 'waiting',
          detail: {},
        });
      }
      if (event.type === 'approval') end(`approval:${env}`, event.at, str(data.outcome) ?? 'approved');
      continue;
    }
    const t = event.transition;
    if (t !== undefined) {
      if (t.to === 'awaiting-approval' && env !== undefined && !open.has(`approval:${env}`)) {
        start({
          name: `approval:${env}`,
          kind: 'approval',
          env,
          startedAt: event.at,
          outcome: 'waiting',
          detail: {},
        });
      }
      if (t.from === 'awaiting-approval' && env !== undefined && t.to !== 'awaiting-approval') {
        end(
          `approval:${env}`,
          event.at,
          t.to === 'deploying' ? 'approved' : (TERMINAL_OUTCOME[t.to] ?? t.to),
        );
      }
      if (t.to === 'deploying' && env !== undefined && run.kind !== 'rollback') {
        current = start({
          name: `deploy:${env}`,
          kind: 'deploy',
          env,
          startedAt: event.at,
          outcome: 'running',
          detail: {},
        });
      }
      const outcome = TERMINAL_OUTCOME[t.to];
      if (outcome !== undefined || t.to === 'awaiting-approval') {
        for (const s of [...open.values()]) {
          if (s.kind === 'deploy' || s.kind === 'rollback') end(s.name, event.at, outcome ?? 'success');
        }
        if (outcome !== undefined) current = undefined;
      }
    }
    const target = current && open.has(current.name) ? current : undefined;
    if (target) target.steps.push({ at: event.at, type: event.type, message: event.message });
  }

  // Approvals with who, when and what they wrote, on their environment's stage.
  for (const s of stages) {
    if (s.kind !== 'approval' || s.env === undefined) continue;
    s.detail.approvals = run.approvals
      .filter((a) => a.env === s.env)
      .map((a) => ({
        by: a.slackUserId,
        at: a.at,
        decision: a.decision,
        ...(a.comment === undefined ? {} : { comment: a.comment }),
      }));
  }
  if (run.reason !== undefined) {
    const last = stages[stages.length - 1];
    if (last) last.detail.reason ??= run.reason;
  }
  return stages;
}
