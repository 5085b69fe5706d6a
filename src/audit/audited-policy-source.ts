import type { PolicySource } from '../engine/context/env-repo.js';
import type { Logger } from '../logger.js';
import type { AuditLog } from './audit-log.js';
import { recordPolicyVersion } from './record-decision.js';

/**
 * A policy source that audits each policy commit the first time it decides anything. The
 * process remembers the last commit it reported, so the steady state costs no Redis call; the
 * dedupe key makes it one entry across all workers and restarts.
 */
export function auditedPolicySource(
  source: PolicySource,
  audit: AuditLog,
  logger: Logger,
  now: () => Date = () => new Date(),
): PolicySource {
  let reported: string | undefined;
  return {
    async current() {
      const current = await source.current();
      if (current.commit !== reported) {
        try {
          await recordPolicyVersion(audit, { commit: current.commit, at: now() });
          reported = current.commit;
        } catch (err) {
          logger.warn({ err, commit: current.commit }, 'audit: could not record the policy version');
        }
      }
      return current;
    },
  };
}
