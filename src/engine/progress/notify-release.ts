import type { Policy } from '../../policy/index.js';
import type { Run } from '../../runs/run-types.js';
import type { NotifyResult } from '../../slack/notify.js';
import type { ReleaseEvent, ReleaseRef } from '../../slack/notification-message.js';
import type { EngineContext } from '../context/engine-context.js';
import { githubWebUrl } from '../context/env-repo.js';

/** What happened to the release; the release itself (app, version, channel, links) comes from the run. */
export type ReleaseNotice = ReleaseEvent extends infer E
  ? E extends ReleaseEvent
    ? Omit<E, keyof ReleaseRef>
    : never
  : never;

export interface NotifyReleaseOptions {
  /**
   * Names the notification within the run: a retried job posts it once.
   * @defaultValue `{kind}:{env}` (`{kind}:-` without an environment)
   */
  eventKey?: string;
}

/**
 * Posts one release event in the release's Slack thread. Never throws: notifications are
 * informative, so a missing channel, an unreadable policy or a Slack outage is logged and the
 * release goes on. Returns the notifier's result, or undefined when nothing was attempted.
 */
export async function notifyRelease(
  ctx: EngineContext,
  run: Run,
  notice: ReleaseNotice,
  options: NotifyReleaseOptions = {},
): Promise<NotifyResult | undefined> {
  const env = 'env' in notice ? notice.env : undefined;
  const eventKey = options.eventKey ?? `${notice.kind}:${env ?? '-'}`;
  const log = ctx.logger.child({ runId: run.id, kind: notice.kind, eventKey });
  try {
    if (ctx.notifier === undefined) {
      log.debug('no SLACK_BOT_TOKEN: release notification skipped');
      return undefined;
    }
    const { policy } = await ctx.policy.current();
    const channel = releaseChannel(policy, env);
    if (channel === undefined) {
      log.debug('the policy names no notification channel: release notification skipped');
      return undefined;
    }
    const event = { ...releaseRefOf(ctx, run, channel), ...notice } as ReleaseEvent;
    return await ctx.notifier.notify(event, { eventKey });
  } catch (err) {
    log.warn(
      { code: (err as { code?: unknown }).code, err: (err as Error).message },
      'release notification failed; the release goes on',
    );
    return undefined;
  }
}

/**
 * The release thread's channel: `notifications.channel`, else the approval channel of the event's
 * environment, else of any environment, so a policy that only configures approvals still gets
 * one thread per release.
 */
export function releaseChannel(policy: Policy, env: string | undefined): string | undefined {
  if (policy.notifications?.channel) return policy.notifications.channel;
  const envs = policy.environments;
  const own = env !== undefined && Object.hasOwn(envs, env) ? envs[env]?.approval?.channel : undefined;
  if (own) return own;
  for (const settings of Object.values(envs)) {
    if (settings.approval?.channel) return settings.approval.channel;
  }
  return undefined;
}

/** Links developers already know: the checks of the released commit on GitHub. */
export function checksUrlOf(ctx: Pick<EngineContext, 'config'>, run: Pick<Run, 'repo' | 'sha'>): string {
  return `${githubWebUrl(ctx.config.github.apiUrl)}/${run.repo}/commit/${run.sha}/checks`;
}

export function releaseRefOf(ctx: Pick<EngineContext, 'config'>, run: Run, channel: string): ReleaseRef {
  return {
    runId: run.id,
    app: run.app ?? run.repo.split('/')[1] ?? run.repo,
    version: run.tag ?? run.ref,
    channel,
    repo: run.repo,
    sha: run.sha,
    releaserLogin: run.releaser,
    runUrl: checksUrlOf(ctx, run),
  };
}
