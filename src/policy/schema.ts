import { z } from 'zod';
import { isSameOrInside, relativePathSchema } from '../pipeline/safe-relative-path.js';
import { dnsLabel } from '../pipeline/schema.js';
import { repoFullNameProblem } from './github-repo-name.js';
import { matchRepoPatterns } from './repo-access.js';
import { countWildcards } from './wildcard.js';
import { isValidTimeZone, parseLocalDateTime, zonedToInstant } from './zoned-time.js';

/**
 * The schema of the platform policy, `shipgate/policy.yml` in the environment repo, version 1.
 * The platform team owns it; app repos can only narrow what it grants, never widen it.
 */

export const POLICY_VERSION = 1;
export const POLICY_FILE_PATH = 'shipgate/policy.yml';
/** The folder holding the policy: no grant may write into it (or an app could rewrite its rights). */
export const POLICY_DIRECTORY = 'shipgate';
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const slackUserId = z
  .string()
  .regex(/^[UW][A-Z0-9]{2,30}$/, { message: 'must be a Slack user id such as U0123ABCD' });
const slackUserGroupId = z
  .string()
  .regex(/^S[A-Z0-9]{2,30}$/, { message: 'must be a Slack user group id such as S0123ABCD' });
const slackChannelId = z
  .string()
  .regex(/^[CG][A-Z0-9]{2,30}$/, { message: 'must be a Slack channel id such as C0123ABCD (not a #name)' });

/** Wildcards a repo pattern may hold: enough for `acme/team-*-svc`, and a bounded match cost. */
export const MAX_WILDCARDS_PER_PATTERN = 4;
/** Wildcard patterns an allowlist may hold (exact names are a hash lookup and may be many more). */
export const MAX_WILDCARD_PATTERNS = 100;

const REPO_PATTERN = /^!?[A-Za-z0-9*-]+\/[A-Za-z0-9._*-]+$/;
const repoPattern = z
  .string()
  .max(200)
  .regex(REPO_PATTERN, {
    message: 'must be an owner/name pattern, with "*" wildcards and an optional leading "!"',
  })
  .superRefine((pattern, ctx) => {
    // zod runs this check even when the regex failed: that failure is already reported.
    if (!REPO_PATTERN.test(pattern)) return;
    const body = pattern.startsWith('!') ? pattern.slice(1) : pattern;
    const wildcards = countWildcards(body);
    if (wildcards > MAX_WILDCARDS_PER_PATTERN) {
      ctx.addIssue({
        code: 'custom',
        message: `has ${wildcards} wildcards, more than the ${MAX_WILDCARDS_PER_PATTERN} allowed`,
        params: { expected: `an owner/name pattern with at most ${MAX_WILDCARDS_PER_PATTERN} "*"` },
      });
    } else if (wildcards === 0) {
      const problem = repoFullNameProblem(body);
      if (problem !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `names no repository GitHub could hold: ${problem}`,
          params: { expected: 'an owner/name GitHub allows, or a pattern with "*"' },
        });
      }
    }
  });
const REPO_FULL_NAME = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/;
const repoFullName = z
  .string()
  .max(200)
  .regex(REPO_FULL_NAME, { message: 'must be an exact owner/name (no wildcards)' })
  .superRefine((name, ctx) => {
    if (!REPO_FULL_NAME.test(name)) return;
    const problem = repoFullNameProblem(name);
    if (problem !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `must be an exact owner/name that GitHub allows: ${problem}`,
        params: { expected: 'an exact owner/name (no wildcards)' },
      });
    }
  });
const githubLogin = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/, { message: 'must be a GitHub login' });

const timeZone = z.string().refine(isValidTimeZone, {
  message: 'must be an IANA time zone name such as Europe/Berlin or UTC',
  params: { expected: 'an IANA time zone name' },
});
const localDateTime = z.string().refine((v) => parseLocalDateTime(v) !== undefined, {
  message: 'must be a local date and time, YYYY-MM-DD HH:MM (or YYYY-MM-DD for midnight)',
  params: { expected: 'YYYY-MM-DD HH:MM' },
});
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'must be a time of day, HH:MM' });

const freezeWindowSchema = z
  .strictObject({
    start: localDateTime.optional().meta({ description: 'One-off window: local start, YYYY-MM-DD HH:MM.' }),
    end: localDateTime.optional().meta({ description: 'One-off window: local end (exclusive).' }),
    days: z
      .array(z.enum(WEEKDAYS))
      .min(1)
      .optional()
      .meta({ description: 'Weekly window: the days it starts on.' }),
    from: timeOfDay.optional().meta({ description: 'Weekly window: local start time.' }),
    to: timeOfDay
      .optional()
      .meta({ description: 'Weekly window: local end time. At or before "from", it ends the next day.' }),
    timeZone: timeZone.meta({ description: 'IANA time zone the times are in.' }),
    reason: z.string().trim().min(3).max(300),
  })
  .superRefine((w, ctx) => {
    const oneOff = w.start !== undefined || w.end !== undefined;
    const weekly = w.days !== undefined || w.from !== undefined || w.to !== undefined;
    const expected = '{ start, end, timeZone, reason } or { days, from, to, timeZone, reason }';
    if (oneOff === weekly) {
      ctx.addIssue({
        code: 'custom',
        message: 'a freeze window is either one-off (start, end) or weekly (days, from, to)',
        params: { expected },
      });
      return;
    }
    const missing = oneOff
      ? (['start', 'end'] as const).filter((k) => w[k] === undefined)
      : (['days', 'from', 'to'] as const).filter((k) => w[k] === undefined);
    for (const key of missing) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `this ${oneOff ? 'one-off' : 'weekly'} freeze window needs "${key}"`,
        params: { expected },
      });
    }
    // Refinements do not stop zod from running this check, so the time zone and times may be
    // invalid here (already reported): only compare when both are usable.
    const start = w.start === undefined ? undefined : parseLocalDateTime(w.start);
    const end = w.end === undefined ? undefined : parseLocalDateTime(w.end);
    if (oneOff && start && end && isValidTimeZone(w.timeZone)) {
      if (zonedToInstant(end, w.timeZone) <= zonedToInstant(start, w.timeZone)) {
        ctx.addIssue({
          code: 'custom',
          path: ['end'],
          message: '"end" must be after "start"',
          params: { expected: 'a time after start' },
        });
      }
    }
  })
  .transform((w) =>
    w.start !== undefined
      ? { kind: 'once' as const, start: w.start, end: w.end!, timeZone: w.timeZone, reason: w.reason }
      : {
          kind: 'weekly' as const,
          days: w.days!,
          from: w.from!,
          to: w.to!,
          timeZone: w.timeZone,
          reason: w.reason,
        },
  );

const approvalSchema = z
  .strictObject({
    approvers: z.strictObject({
      users: z.array(slackUserId).max(200).default([]),
      userGroups: z.array(slackUserGroupId).max(50).default([]),
    }),
    required: z.int().min(1).max(10).default(1).meta({ description: 'Distinct approvals needed.' }),
    releaserMayApprove: z
      .boolean()
      .default(false)
      .meta({ description: 'Whether the person who pushed the tag may approve their own release.' }),
    expiresAfterHours: z
      .number()
      .min(1)
      .max(24 * 14)
      .default(24),
    channel: slackChannelId
      .optional()
      .meta({ description: 'Where approval requests go. Default: notifications.channel.' }),
  })
  .superRefine((a, ctx) => {
    if (a.approvers.users.length === 0 && a.approvers.userGroups.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvers'],
        message: 'no one could approve: list at least one user or user group',
        params: { expected: 'approvers.users or approvers.userGroups' },
      });
    } else if (a.approvers.userGroups.length === 0 && new Set(a.approvers.users).size < a.required) {
      ctx.addIssue({
        code: 'custom',
        path: ['required'],
        message: `${a.required} approvals are required but only ${new Set(a.approvers.users).size} users may approve`,
        params: { expected: `at most ${new Set(a.approvers.users).size}` },
      });
    }
  });

const environmentPolicySchema = z.strictObject({
  namespace: dnsLabel.meta({ description: "The Kubernetes namespace of this environment's workloads." }),
  mode: z
    .enum(['direct', 'pr'])
    .default('direct')
    .meta({ description: 'Commit to the env repo directly, or open a pull request and wait for its merge.' }),
  requireBlueGreen: z.boolean().default(true),
  allowClusterScoped: z.boolean().default(false),
  approval: approvalSchema
    .optional()
    .meta({ description: 'Without it, a release enters this environment without approval.' }),
  freezeWindows: z.array(freezeWindowSchema).max(200).default([]),
});

const envRepoPath = relativePathSchema(
  { allowDotSegments: false },
  'Folder in the env repo that Shipgate writes for this app and environment.',
);

const grantSchema = z.strictObject({
  app: dnsLabel,
  environments: z.record(
    dnsLabel,
    z.strictObject({
      path: envRepoPath,
      namespace: dnsLabel
        .optional()
        .meta({ description: "Overrides the environment's namespace for this repo." }),
    }),
  ),
});

const hostPattern = z
  .string()
  .max(253)
  .regex(/^(?:\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/, {
    message: 'must be a lowercase host name, optionally starting with "*." for any subdomain',
  });

/** A console role holder: a GitHub login, `org:<org>` or `team:<org>/<team-slug>`. */
const accessSubject = z
  .string()
  .max(200)
  .regex(
    /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})|org:[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})|team:[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100})$/,
    {
      message: 'must be a GitHub login, org:<org> or team:<org>/<team-slug>',
    },
  );

const accessSchema = z
  .strictObject({
    viewers: z
      .array(accessSubject)
      .max(500)
      .default([])
      .meta({ description: 'Who may see runs, environments, approvals and the audit trail in the console.' }),
    environments: z
      .record(
        dnsLabel,
        z.strictObject({
          operators: z
            .array(accessSubject)
            .max(500)
            .default([])
            .meta({ description: 'Who may roll this environment back (break-glass during a freeze).' }),
        }),
      )
      .default({}),
  })
  .meta({
    description:
      'Console roles. Approvers are the approval rules above, reached through identities (GitHub login → Slack user).',
  });

export const policySchema = z
  .strictObject({
    version: z.literal(POLICY_VERSION),
    releaseTagPattern: z
      .string()
      .max(200)
      .regex(/^[A-Za-z0-9._/*+-]+$/, { message: 'must be a tag pattern such as v* ("*" matches anything)' })
      .refine((v) => !v.startsWith('refs/'), { message: 'must be a tag name pattern, without refs/tags/' })
      .default('v*'),
    forkPullRequests: z.enum(['none', 'checks-only']).default('none').meta({
      description:
        'none: pull requests from forks get no run at all. checks-only: static checks only (Trivy fs, manifest diff); the test command never runs.',
    }),
    notifications: z.strictObject({ channel: slackChannelId }).optional(),
    zap: z
      .strictObject({
        pullRequestTargetHosts: z
          .array(hostPattern)
          .max(200)
          .default([])
          .meta({ description: 'Hosts an app may ask ZAP to scan on pull requests. Empty: none.' }),
      })
      .prefault({}),
    repos: z.strictObject({
      allow: z.array(repoPattern).max(1000).default([]),
      grants: z.record(repoFullName, grantSchema).default({}),
    }),
    environments: z.record(dnsLabel, environmentPolicySchema),
    freezeWindows: z
      .array(freezeWindowSchema)
      .max(200)
      .default([])
      .meta({ description: 'Freeze windows for every environment.' }),
    identities: z
      .record(githubLogin, slackUserId)
      .default({})
      .meta({ description: 'GitHub login → Slack user id, to recognise the releaser in Slack.' }),
    access: accessSchema.prefault({}),
  })
  .superRefine((policy, ctx) => {
    const issue = (path: PropertyKey[], message: string, expected: string, onKey = false) =>
      ctx.addIssue({ code: 'custom', path, message, params: { expected, onKey } });

    for (const [name, env] of Object.entries(policy.environments)) {
      if (env.approval && !env.approval.channel && !policy.notifications) {
        issue(
          ['environments', name, 'approval'],
          `approvals for "${name}" have no channel: set approval.channel or notifications.channel`,
          'a Slack channel id',
        );
      }
    }

    for (const env of Object.keys(policy.access.environments)) {
      if (!Object.hasOwn(policy.environments, env)) {
        issue(
          ['access', 'environments', env],
          `environment "${env}" is not defined under environments`,
          `one of: ${Object.keys(policy.environments).join(', ')}`,
          true,
        );
      }
    }

    const wildcardPatterns = policy.repos.allow.filter((p) => p.includes('*')).length;
    if (wildcardPatterns > MAX_WILDCARD_PATTERNS) {
      issue(
        ['repos', 'allow'],
        `repos.allow holds ${wildcardPatterns} patterns with "*", more than the ${MAX_WILDCARD_PATTERNS} allowed (list exact names instead)`,
        `at most ${MAX_WILDCARD_PATTERNS} wildcard patterns`,
        true,
      );
      // Matching every grant against that many patterns is the cost the limit exists to bound.
      return;
    }

    const seenRepos = new Map<string, string>();
    const claimed = new ClaimedPaths();
    for (const [repo, grant] of Object.entries(policy.repos.grants)) {
      const lower = repo.toLowerCase();
      const previous = seenRepos.get(lower);
      if (previous !== undefined) {
        issue(
          ['repos', 'grants', repo],
          `${repo} is granted twice (also as ${previous})`,
          'one grant per repository',
          true,
        );
        continue;
      }
      seenRepos.set(lower, repo);
      const access = matchRepoPatterns(policy.repos.allow, repo);
      if (!access.allowed) {
        issue(
          ['repos', 'grants', repo],
          `${repo} has a grant but is not allowed: ${access.reason}`,
          'a repository allowed by repos.allow',
          true,
        );
      }
      for (const [env, { path }] of Object.entries(grant.environments)) {
        const at = ['repos', 'grants', repo, 'environments', env];
        // A path refused by its own schema is already reported; it holds no usable value here.
        if (typeof path !== 'string') continue;
        if (!Object.hasOwn(policy.environments, env)) {
          issue(
            at,
            `environment "${env}" is not defined under environments`,
            `one of: ${Object.keys(policy.environments).join(', ')}`,
            true,
          );
        }
        if (isSameOrInside(path, POLICY_DIRECTORY) || isSameOrInside(POLICY_DIRECTORY, path)) {
          issue(
            [...at, 'path'],
            `"${path}" overlaps the policy folder "${POLICY_DIRECTORY}/"`,
            'a path outside shipgate/',
          );
        }
        const clash = claimed.overlapping(path);
        if (clash) {
          issue(
            [...at, 'path'],
            `"${path}" overlaps "${clash.path}" (${clash.repo}, ${clash.env}): each app and environment needs its own folder`,
            'a path that no other grant contains or is contained in',
          );
        }
        claimed.add({ repo, env, path });
      }
    }

    const seenLogins = new Set<string>();
    for (const login of Object.keys(policy.identities)) {
      if (seenLogins.has(login.toLowerCase())) {
        issue(
          ['identities', login],
          `the GitHub login ${login} is mapped twice`,
          'one entry per login',
          true,
        );
      }
      seenLogins.add(login.toLowerCase());
    }
  });

interface Claim {
  repo: string;
  env: string;
  path: string;
}

/**
 * The env-repo folders granted so far, to find one that contains or lies inside a new one.
 * Comparing every grant with every other is quadratic; here each folder and each of its
 * ancestors is a hash key, so a check costs one lookup per path segment.
 */
class ClaimedPaths {
  private readonly exact = new Map<string, Claim>();
  /** Every proper ancestor of a claimed folder → one claim below it. */
  private readonly ancestors = new Map<string, Claim>();

  overlapping(path: string): Claim | undefined {
    if (path === '.') return this.exact.values().next().value;
    const below = this.exact.get(path) ?? this.ancestors.get(path) ?? this.exact.get('.');
    if (below) return below;
    for (const ancestor of ancestorsOf(path)) {
      const above = this.exact.get(ancestor);
      if (above) return above;
    }
    return undefined;
  }

  add(claim: Claim): void {
    if (!this.exact.has(claim.path)) this.exact.set(claim.path, claim);
    for (const ancestor of ancestorsOf(claim.path)) {
      if (!this.ancestors.has(ancestor)) this.ancestors.set(ancestor, claim);
    }
  }
}

/** `a/b/c` → `a/b`, `a`. Paths are normalised and at most 32 segments deep. */
function* ancestorsOf(path: string): Generator<string> {
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) yield path.slice(0, i);
}

export type Policy = z.output<typeof policySchema>;
export type PolicyInput = z.input<typeof policySchema>;
export type EnvironmentPolicy = Policy['environments'][string];
export type ApprovalPolicy = NonNullable<EnvironmentPolicy['approval']>;
export type FreezeWindow = EnvironmentPolicy['freezeWindows'][number];
export type RepoGrant = Policy['repos']['grants'][string];
export type DeployMode = EnvironmentPolicy['mode'];
export type ForkPullRequestPolicy = Policy['forkPullRequests'];
