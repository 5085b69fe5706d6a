/**
 * Picks the env-repo commit a manual rollback (`shipgate rollback <app> <env> [--to …]`)
 * promotes again. Pure: the caller reads the app+environment history from the env repo
 * (newest first, with parsed trailers) and runs the result as a new `rollback` run through
 * the same gates and commit path.
 *
 * A commit is a candidate when it is a Shipgate release (it has a `Shipgate-Run` trailer),
 * is not itself a revert, was not reverted later (rolled back by a gate), and recorded no
 * failed gate.
 */
import { RollbackTargetNotFound } from '../errors.js';

export interface EnvCommit {
  /** Env-repo commit sha. */
  sha: string;
  /** Trailer pairs in order, as `parseTrailers` of the gitops writer returns them. */
  trailers: readonly (readonly [string, string])[];
  /** Full message; used to recognise git's own "This reverts commit <sha>." revert body. */
  message?: string;
}

export interface RollbackPlan {
  target: {
    sha: string;
    image: string | undefined;
    sourceCommit: string | undefined;
    /** The release tag, when the image tag or a `Release-Tag` trailer names one. */
    tag: string | undefined;
  };
  /** The release live now (newest good release), when there is one. */
  current: { sha: string } | undefined;
  /** Releases passed over on the way, and why. */
  skipped: { sha: string; why: string }[];
  /** Trailers for the rollback commit, so `git log` says what happened. */
  trailers: [string, string][];
}

const REVERT_TRAILERS = ['reverts', 'revert-of', 'shipgate-reverts'];

function trailer(c: EnvCommit, key: string): string | undefined {
  const k = key.toLowerCase();
  return c.trailers.filter(([name]) => name.toLowerCase() === k).at(-1)?.[1];
}

function revertedShas(c: EnvCommit): string[] {
  const fromTrailers = c.trailers
    .filter(([k]) => REVERT_TRAILERS.includes(k.toLowerCase()))
    .map(([, v]) => v.trim());
  const fromBody = [...(c.message ?? '').matchAll(/This reverts commit ([0-9a-f]{7,64})/g)].map((m) => m[1]!);
  return [...fromTrailers, ...fromBody];
}

/** `ghcr.io/acme/api:v1.2.3@sha256:…` → `v1.2.3`; a digest alone names no tag. */
function imageTag(image: string | undefined): string | undefined {
  if (!image) return undefined;
  const withoutDigest = image.split('@')[0]!;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.indexOf(':', lastSlash + 1);
  return colon === -1 ? undefined : withoutDigest.slice(colon + 1);
}

function tagOf(c: EnvCommit): string | undefined {
  return trailer(c, 'Release-Tag') ?? imageTag(trailer(c, 'Image'));
}

function sameSha(a: string, b: string): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x.length >= 7 && y.length >= 7 && (x.startsWith(y) || y.startsWith(x));
}

export function planManualRollback(input: { liveCommits: readonly EnvCommit[]; to?: string }): RollbackPlan {
  const reverted = new Set<string>();
  const badWhy = new Map<string, string>();
  // Newest first: a revert always comes after (above) the commit it reverts.
  for (const c of input.liveCommits) {
    for (const sha of revertedShas(c)) reverted.add(sha.toLowerCase());
  }
  const isReverted = (c: EnvCommit) => [...reverted].some((r) => sameSha(r, c.sha));
  const releases = input.liveCommits.filter((c) => {
    if (trailer(c, 'Shipgate-Run') === undefined) return false;
    if (revertedShas(c).length > 0) return false;
    if (isReverted(c)) {
      badWhy.set(c.sha, 'reverted after a failed gate');
      return true;
    }
    const gates = trailer(c, 'Gates') ?? '';
    if (/=(failed|error)\b/i.test(gates)) {
      badWhy.set(c.sha, `recorded a failed gate (${gates})`);
    }
    return true;
  });
  const good = releases.filter((c) => !badWhy.has(c.sha));
  const current = good[0];
  const skipped: RollbackPlan['skipped'] = [];

  let target: EnvCommit | undefined;
  if (input.to === undefined) {
    // Only what is older than the live release: newer ones were reverted, so never live.
    const older = current ? releases.slice(releases.indexOf(current) + 1) : releases;
    for (const c of older) {
      const why = badWhy.get(c.sha);
      if (why) {
        skipped.push({ sha: c.sha, why });
        continue;
      }
      target = c;
      break;
    }
    if (!target) throw RollbackTargetNotFound('no earlier good release in this environment');
  } else {
    const to = input.to.trim();
    const isSha = /^[0-9a-f]{7,64}$/i.test(to);
    const matches = releases.filter(
      (c) =>
        tagOf(c) === to || (isSha && (sameSha(c.sha, to) || sameSha(trailer(c, 'Source-Commit') ?? '', to))),
    );
    if (matches.length === 0) throw RollbackTargetNotFound(`${to} matches no release in this environment`);
    target = matches.find((c) => !badWhy.has(c.sha));
    if (!target) {
      throw RollbackTargetNotFound(
        `${to} matches only releases that are not good (${badWhy.get(matches[0]!.sha)})`,
      );
    }
    if (target === current) throw RollbackTargetNotFound(`${to} is the release live now`);
  }

  const trailers: [string, string][] = [['Shipgate-Rollback-To', target.sha]];
  if (current) trailers.push(['Shipgate-Rollback-From', current.sha]);
  return {
    target: {
      sha: target.sha,
      image: trailer(target, 'Image'),
      sourceCommit: trailer(target, 'Source-Commit'),
      tag: tagOf(target),
    },
    current: current ? { sha: current.sha } : undefined,
    skipped,
    trailers,
  };
}
