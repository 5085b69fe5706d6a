import { SlackApiRejected } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SlackClient } from './slack-client.js';

export interface UserDirectoryOptions {
  /** How long group members and email lookups are reused. @defaultValue 60_000 */
  cacheTtlMs?: number;
  now?: () => number;
  logger?: Logger;
}

export interface ReleaserIdentity {
  githubLogin?: string;
  /** Commit or pusher email, when the event carried one. */
  email?: string;
}

/**
 * Who is who in Slack, cached briefly: user-group members for authorization, and the releaser's
 * Slack id for the "not your own release" rule. Lookups in flight are shared, so a flood of clicks
 * costs one `usergroups.users.list` per group per TTL.
 */
export class SlackUserDirectory {
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly groups = new Map<string, { at: number; members: Promise<ReadonlySet<string>> }>();
  private readonly emails = new Map<string, { at: number; id: Promise<string | undefined> }>();

  constructor(
    private readonly slack: SlackClient,
    private readonly options: UserDirectoryOptions = {},
  ) {
    this.ttlMs = options.cacheTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Members of each group. A group Slack does not know counts as empty (fail closed), with a warning. */
  async groupMembers(groupIds: readonly string[]): Promise<Map<string, ReadonlySet<string>>> {
    const entries = await Promise.all(groupIds.map(async (id) => [id, await this.membersOf(id)] as const));
    return new Map(entries);
  }

  private membersOf(groupId: string): Promise<ReadonlySet<string>> {
    const cached = this.groups.get(groupId);
    if (cached && this.now() - cached.at < this.ttlMs) return cached.members;
    const members = this.slack.listUserGroupMembers(groupId).then(
      (ids) => new Set(ids) as ReadonlySet<string>,
      (err: unknown) => {
        if (SlackApiRejected.is(err)) {
          this.options.logger?.warn(
            { userGroup: groupId, slackError: err.details?.slackError },
            'cannot list user group members; treating the group as empty',
          );
          return new Set<string>() as ReadonlySet<string>;
        }
        this.groups.delete(groupId);
        throw err;
      },
    );
    this.groups.set(groupId, { at: this.now(), members });
    return members;
  }

  /**
   * The releaser's Slack user id: the policy's GitHub-login mapping first, then `users.lookupByEmail`.
   * `undefined` when neither knows them.
   */
  async resolveReleaser(
    identity: ReleaserIdentity,
    mapping: Readonly<Record<string, string>> = {},
  ): Promise<string | undefined> {
    if (identity.githubLogin !== undefined) {
      const login = identity.githubLogin.toLowerCase();
      const mapped = Object.entries(mapping).find(([k]) => k.toLowerCase() === login)?.[1];
      if (mapped !== undefined) return mapped;
    }
    // GitHub's noreply addresses never match a Slack account.
    if (identity.email === undefined || /@users\.noreply\.github\.com$/i.test(identity.email))
      return undefined;
    const email = identity.email.toLowerCase();
    const cached = this.emails.get(email);
    if (cached && this.now() - cached.at < this.ttlMs) return cached.id;
    const id = this.slack.lookupUserByEmail(email).catch((err: unknown) => {
      this.emails.delete(email);
      throw err;
    });
    this.emails.set(email, { at: this.now(), id });
    return id;
  }
}
