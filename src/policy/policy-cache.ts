import { CommitShaInvalid, PolicyInvalid, PolicyMissing } from '../errors.js';
import { parsePolicy } from './parse-policy.js';
import { type Policy, POLICY_FILE_PATH } from './schema.js';

export interface PolicyCacheOptions {
  /** Commits whose parsed policy is kept. @defaultValue 32 */
  maxEntries?: number;
  /** Path shown in errors. @defaultValue shipgate/policy.yml */
  file?: string;
}

export interface PolicyCache {
  /**
   * The policy at an env-repo commit, parsed once per commit. Rejects with `PolicyMissing` or
   * `PolicyInvalid` (non-retryable, `details.issues` holds the problems; remembered like a good
   * policy, since a commit never changes), or with whatever `readPolicyText` threw (not
   * remembered, so a network failure is retried).
   */
  get(commitSha: string): Promise<Policy>;
  /** Number of commits currently cached. */
  readonly size: number;
}

type Entry = { ok: true; policy: Policy } | { ok: false; error: Error };

const COMMIT_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * A small LRU keyed by commit sha. Keyed by commit rather than branch so a run decides with the
 * policy it started with, and a new commit to the env repo takes effect for new runs at once.
 * Concurrent `get`s of one commit share one read.
 */
export function createPolicyCache(
  readPolicyText: (commitSha: string) => Promise<string | null>,
  options: PolicyCacheOptions = {},
): PolicyCache {
  const maxEntries = Math.max(1, options.maxEntries ?? 32);
  const file = options.file ?? POLICY_FILE_PATH;
  const entries = new Map<string, Entry>();
  const inFlight = new Map<string, Promise<Entry>>();

  const remember = (sha: string, entry: Entry) => {
    entries.delete(sha);
    entries.set(sha, entry);
    while (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
  };

  const load = async (sha: string): Promise<Entry> => {
    const text = await readPolicyText(sha);
    if (text === null) return { ok: false, error: PolicyMissing(file, sha) };
    const parsed = parsePolicy(text, file);
    if (parsed.ok) return { ok: true, policy: parsed.policy };
    return {
      ok: false,
      error: PolicyInvalid(file, sha, parsed.errors.length, { details: { issues: parsed.errors } }),
    };
  };

  const unwrap = (entry: Entry): Policy => {
    if (entry.ok) return entry.policy;
    throw entry.error;
  };

  return {
    get size() {
      return entries.size;
    },
    async get(commitSha: string): Promise<Policy> {
      const sha = commitSha.toLowerCase();
      if (!COMMIT_SHA.test(sha)) throw CommitShaInvalid(commitSha);
      const cached = entries.get(sha);
      if (cached) {
        remember(sha, cached);
        return unwrap(cached);
      }
      let pending = inFlight.get(sha);
      if (!pending) {
        pending = load(sha).then(
          (entry) => {
            inFlight.delete(sha);
            remember(sha, entry);
            return entry;
          },
          (err: unknown) => {
            inFlight.delete(sha);
            throw err;
          },
        );
        inFlight.set(sha, pending);
      }
      return unwrap(await pending);
    },
  };
}
