import type { Policy } from '../policy/schema.js';
import type { Principal } from './principal.js';

/**
 * Who may do what, decided from the platform policy (env repo, never the app repo) and the
 * caller. Pure: the policy, the caller and the facts are inputs, so every rule is unit tested.
 *
 * - viewers: `access.viewers` (users, `org:<org>`, `team:<org>/<slug>`); approvers and operators
 *   of any environment are viewers too.
 * - approvers: the environment's existing approval rule (Slack users), reached through the
 *   policy's `identities` map (GitHub login → Slack user id). Slack user groups are resolved by
 *   the approval worker at decision time, so a group member is offered the decision and the
 *   worker, with the same rules as a Slack click, has the last word.
 * - operators: `access.environments.<env>.operators`; they may roll back that environment.
 * - tokens: their scope (read, approve, rollback, admin) instead of the policy lists.
 */

export interface Roles {
  viewer: boolean;
  approverOf: string[];
  operatorOf: string[];
  admin: boolean;
}

export type AccessDecision = { allowed: true; reason: string } | { allowed: false; reason: string };

const NO_ROLES: Roles = { viewer: false, approverOf: [], operatorOf: [], admin: false };

/** True when `subject` (a policy entry) names the caller: `login`, `org:<org>`, `team:<org>/<slug>`. */
export function subjectMatches(subject: string, who: Pick<Principal, 'login' | 'orgs' | 'teams'>): boolean {
  const lower = subject.toLowerCase();
  if (lower.startsWith('org:')) {
    const org = lower.slice(4);
    return who.orgs.some((o) => o.toLowerCase() === org);
  }
  if (lower.startsWith('team:')) {
    const team = lower.slice(5);
    return who.teams.some((t) => t.toLowerCase() === team);
  }
  return who.login.toLowerCase() === lower;
}

/** The Slack user id the policy maps a GitHub login to, or undefined. */
export function slackIdentityOf(policy: Policy, login: string): string | undefined {
  const lower = login.toLowerCase();
  for (const [name, id] of Object.entries(policy.identities)) if (name.toLowerCase() === lower) return id;
  return undefined;
}

/** Environments whose approval rule could count this person (listed user or any user group). */
function approverEnvironments(policy: Policy, login: string): string[] {
  const slackId = slackIdentityOf(policy, login);
  if (slackId === undefined) return [];
  return Object.entries(policy.environments)
    .filter(([, env]) => {
      const approval = env.approval;
      if (!approval) return false;
      return approval.approvers.users.includes(slackId) || approval.approvers.userGroups.length > 0;
    })
    .map(([name]) => name);
}

/** Environments that name this person among their rollback operators. */
function operatorEnvironments(policy: Policy, who: Pick<Principal, 'login' | 'orgs' | 'teams'>): string[] {
  return Object.entries(policy.access.environments)
    .filter(([, env]) => env.operators.some((s) => subjectMatches(s, who)))
    .map(([name]) => name);
}

function approvalEnvironments(policy: Policy): string[] {
  return Object.entries(policy.environments)
    .filter(([, env]) => env.approval !== undefined)
    .map(([name]) => name);
}

/**
 * The caller's roles. A session without a readable policy has none (fail closed); a token's
 * scope does not depend on the policy, except for the environment names it lists.
 */
export function rolesOf(principal: Principal, policy: Policy | undefined): Roles {
  const envs = policy ? Object.keys(policy.environments) : [];
  if (principal.via === 'token') {
    switch (principal.scope) {
      case 'admin':
        return {
          viewer: true,
          approverOf: policy ? approvalEnvironments(policy) : [],
          operatorOf: envs,
          admin: true,
        };
      case 'rollback':
        return { viewer: true, approverOf: [], operatorOf: envs, admin: false };
      case 'approve':
        return {
          viewer: true,
          approverOf: policy ? approvalEnvironments(policy) : [],
          operatorOf: [],
          admin: false,
        };
      case 'read':
        return { ...NO_ROLES, viewer: true };
      default:
        return NO_ROLES;
    }
  }
  if (!policy) return NO_ROLES;
  const approverOf = approverEnvironments(policy, principal.login);
  const operatorOf = operatorEnvironments(policy, principal);
  const listed = policy.access.viewers.some((s) => subjectMatches(s, principal));
  return {
    viewer: listed || approverOf.length > 0 || operatorOf.length > 0,
    approverOf,
    operatorOf,
    admin: false,
  };
}

export function decideRead(roles: Roles): AccessDecision {
  return roles.viewer
    ? { allowed: true, reason: 'viewer' }
    : { allowed: false, reason: 'the platform policy does not list you as a viewer' };
}

export interface ApproveFacts {
  env: string;
  /** GitHub login of whoever released the run. */
  releaser: string;
  /** The policy's approval rule for env allows the releaser to approve. */
  releaserMayApprove: boolean;
  decision: 'approve' | 'reject';
}

/**
 * Whether the console lets this caller send an approval decision to the approval worker. The
 * worker then applies the very rules of a Slack click (approver lists and groups, releaser,
 * count, expiry, freeze); this check only refuses early what can never count.
 */
export function decideApprove(principal: Principal, roles: Roles, facts: ApproveFacts): AccessDecision {
  if (!roles.approverOf.includes(facts.env)) {
    return { allowed: false, reason: `you are not an approver for ${facts.env}` };
  }
  if (
    principal.via === 'session' &&
    facts.decision === 'approve' &&
    !facts.releaserMayApprove &&
    principal.login.toLowerCase() === facts.releaser.toLowerCase()
  ) {
    return {
      allowed: false,
      reason: 'you released this version, and the policy does not let a releaser approve their own release',
    };
  }
  return { allowed: true, reason: 'approver' };
}

export interface RollbackFacts {
  env: string;
  freeze: { frozen: false } | { frozen: true; until: Date; reason: string };
  breakGlassReason?: string;
}

export const BREAK_GLASS_MIN_CHARS = 10;

export type RollbackDecision =
  | { allowed: true; breakGlass: boolean }
  | { allowed: false; code: 'not-operator'; reason: string }
  | { allowed: false; code: 'frozen'; reason: string; until: Date; freezeReason: string };

/** Only operators roll back; during a freeze only with a written break-glass reason. */
export function decideRollback(roles: Roles, facts: RollbackFacts): RollbackDecision {
  if (!roles.operatorOf.includes(facts.env)) {
    return { allowed: false, code: 'not-operator', reason: `you are not an operator for ${facts.env}` };
  }
  if (!facts.freeze.frozen) return { allowed: true, breakGlass: false };
  const reason = facts.breakGlassReason?.trim() ?? '';
  if (reason.length >= BREAK_GLASS_MIN_CHARS) return { allowed: true, breakGlass: true };
  return {
    allowed: false,
    code: 'frozen',
    reason: `${facts.env} is frozen`,
    until: facts.freeze.until,
    freezeReason: facts.freeze.reason,
  };
}
