import type { Run, RunEvent, TimelineStage } from '../api/types';

const TERMINAL = new Set(['succeeded', 'failed', 'rolled-back', 'cancelled', 'superseded']);

/**
 * The run's stages with their start and end. The server's `timeline` is used when it sends
 * one; otherwise the stages are read from the event log's state transitions: each transition
 * starts a stage, and the next one ends it.
 */
export function timelineOf(run: Run, events: RunEvent[], fromServer?: TimelineStage[]): TimelineStage[] {
  const given = fromServer ?? run.timeline;
  if (given && given.length > 0) return given;
  const transitions = events.filter((e) => e.transition);
  const created = events.find((e) => e.type === 'created');
  const stages: TimelineStage[] = [
    {
      name: 'trigger',
      startedAt: run.createdAt,
      endedAt: transitions[0]?.at ?? run.createdAt,
      outcome: 'succeeded',
      detail: created?.message ?? `${run.kind} run created`,
    },
  ];
  transitions.forEach((event, i) => {
    const { to, env } = event.transition!;
    const next = transitions[i + 1];
    const terminal = TERMINAL.has(to);
    stages.push({
      name: env && !terminal ? `${to} (${env})` : to,
      env,
      startedAt: event.at,
      endedAt: terminal ? event.at : next?.at,
      outcome: terminal
        ? to
        : next
          ? next.transition!.to === 'failed'
            ? 'failed'
            : 'succeeded'
          : 'in progress',
      detail: terminal && run.reason ? run.reason : undefined,
    });
  });
  return stages;
}

/** The env-repo commits the run wrote: the server's list with trailers, or the commit events. */
export function commitsOf(run: Run, events: RunEvent[]) {
  if (run.commits && run.commits.length > 0) return run.commits;
  return events
    .filter((e) => e.type === 'commit' && typeof e.data?.commit === 'string')
    .map((e) => ({
      env: String(e.data?.env ?? ''),
      sha: String(e.data?.commit),
      at: e.at,
      message: typeof e.data?.message === 'string' ? e.data.message : undefined,
      trailers: (e.data?.trailers as Record<string, string | string[]> | undefined) ?? undefined,
    }));
}

/** Deploy steps (Rollout sync, promotion, analysis) grouped by environment, in order. */
export function deployStepsOf(events: RunEvent[]): Map<string, RunEvent[]> {
  const byEnv = new Map<string, RunEvent[]>();
  for (const event of events) {
    if (!event.type.startsWith('deploy:')) continue;
    const env = typeof event.data?.env === 'string' ? event.data.env : '—';
    byEnv.set(env, [...(byEnv.get(env) ?? []), event]);
  }
  return byEnv;
}
