/** Small text formatters shared by the pages. Times are shown in the viewer's locale and zone. */

export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 12) : '—';
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

export function between(start: string | undefined, end: string | undefined, now = Date.now()): string {
  if (!start) return '—';
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : now;
  return duration(to - from) + (end ? '' : ' so far');
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const ms = now - Date.parse(iso);
  if (!Number.isFinite(ms)) return iso;
  if (ms < 45_000) return 'just now';
  const min = Math.round(ms / 60_000);
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

/** What a run releases, in the words people use: the tag, the PR, or the rollback. */
export function runTitle(run: {
  kind: string;
  tag?: string;
  prNumber?: number;
  ref: string;
  app?: string;
}): string {
  if (run.kind === 'release') return run.tag ?? run.ref;
  if (run.kind === 'pr') return `PR #${run.prNumber ?? '?'}`;
  return `rollback${run.app ? ` of ${run.app}` : ''}${run.tag ? ` to ${run.tag}` : ''}`;
}
