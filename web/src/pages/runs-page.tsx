import { useEffect, useState } from 'preact/hooks';
import { query } from '../api/client';
import { useLiveStatus, useRunEvents } from '../api/live';
import { RUN_KINDS, RUN_STATES, type RunPage, type RunSummary } from '../api/types';
import { navigate, type Location } from '../router';
import { ago, dateTime, runTitle, shortSha } from '../ui/format';
import { ErrorNotice, Loading } from '../ui/notice';
import { Pager } from '../ui/pager';
import { StateBadge } from '../ui/state-badge';
import { useFetch } from '../ui/use-fetch';

const PAGE_SIZE = 25;
type Filters = Record<'app' | 'env' | 'kind' | 'state', string>;

function filtersOf(params: URLSearchParams): Filters {
  return {
    app: params.get('app') ?? '',
    env: params.get('env') ?? '',
    kind: params.get('kind') ?? '',
    state: params.get('state') ?? '',
  };
}

/** Whether a live run belongs on the first page under these filters. */
function matches(run: RunSummary, f: Filters): boolean {
  return (
    (!f.app || run.app === f.app) &&
    (!f.env || run.currentEnv === f.env) &&
    (!f.kind || run.kind === f.kind) &&
    (!f.state || run.state === f.state)
  );
}

/** Runs newest first; ids are ULIDs, so their order is their creation order. */
function upsert(runs: RunSummary[], run: RunSummary): RunSummary[] {
  const at = runs.findIndex((r) => r.id === run.id);
  if (at >= 0) {
    const old = runs[at]!;
    if ((old.version ?? 0) > (run.version ?? 0)) return runs;
    const next = runs.slice();
    next[at] = { ...old, ...run };
    return next;
  }
  return [run, ...runs].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
}

export function RunsPage({ location }: { location: Location }) {
  const filters = filtersOf(location.params);
  const cursor = location.params.get('cursor') ?? '';
  const path = `/api/runs${query({ ...filters, cursor, limit: PAGE_SIZE })}`;
  const page = useFetch<RunPage>(path);
  const [runs, setRuns] = useState<RunSummary[]>([]);
  const live = useLiveStatus();

  useEffect(() => {
    if (page.data) setRuns(page.data.runs);
  }, [page.data]);

  useRunEvents((run) => {
    // Older pages stay as they were read; the first page follows what happens.
    if (cursor) {
      setRuns((list) => (list.some((r) => r.id === run.id) ? upsert(list, run) : list));
      return;
    }
    if (matches(run, filters)) setRuns((list) => upsert(list, run));
    else setRuns((list) => list.filter((r) => r.id !== run.id));
  });

  const go = (next: Partial<Filters> & { cursor?: string }) => {
    const merged = { ...filters, ...next };
    navigate(`/${query({ ...merged, cursor: next.cursor })}`);
  };

  const onSubmit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    go({
      app: String(form.get('app') ?? '').trim(),
      env: String(form.get('env') ?? '').trim(),
      kind: String(form.get('kind') ?? ''),
      state: String(form.get('state') ?? ''),
      cursor: '',
    });
  };

  return (
    <section aria-labelledby="runs-title">
      <div class="page-head">
        <h1 id="runs-title">Runs</h1>
        <p class={`live live-${live}`} role="status">
          <span aria-hidden="true">{live === 'live' ? '●' : '○'} </span>
          {live === 'live' ? 'Live' : live === 'off' ? 'Not live' : 'Connecting…'}
        </p>
      </div>
      <form class="filters" onSubmit={onSubmit} aria-label="Filter runs">
        <label>
          App
          <input name="app" value={filters.app} autocomplete="off" />
        </label>
        <label>
          Environment
          <input name="env" value={filters.env} autocomplete="off" />
        </label>
        <label>
          Kind
          <select name="kind" value={filters.kind}>
            <option value="">any</option>
            {RUN_KINDS.map((k) => (
              <option value={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          State
          <select name="state" value={filters.state}>
            <option value="">any</option>
            {RUN_STATES.map((s) => (
              <option value={s}>{s}</option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      {page.error ? <ErrorNotice error={page.error} what="read the runs" /> : null}
      {page.loading && !page.data ? <Loading what="runs" /> : null}
      {page.data && runs.length === 0 ? <p class="muted">No runs match.</p> : null}
      {runs.length > 0 ? (
        <div class="table-wrap">
          <table class="runs">
            <caption class="visually-hidden">Runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">State</th>
                <th scope="col">Run</th>
                <th scope="col">App</th>
                <th scope="col">Kind</th>
                <th scope="col">Environment</th>
                <th scope="col">By</th>
                <th scope="col">Started</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr key={run.id} data-run-id={run.id}>
                  <td>
                    <StateBadge state={run.state} />
                  </td>
                  <td>
                    <a href={`/runs/${run.id}`}>{runTitle(run)}</a>
                    <div class="sub mono">{shortSha(run.sha)}</div>
                  </td>
                  <td>
                    {run.app ?? '—'}
                    <div class="sub">{run.repo}</div>
                  </td>
                  <td>{run.kind}</td>
                  <td>{run.currentEnv ?? '—'}</td>
                  <td>{run.releaser}</td>
                  <td>
                    <time dateTime={run.createdAt} title={dateTime(run.createdAt)}>
                      {ago(run.createdAt)}
                    </time>
                  </td>
                  <td>
                    <time dateTime={run.updatedAt} title={dateTime(run.updatedAt)}>
                      {ago(run.updatedAt)}
                    </time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager
        key={JSON.stringify(filters)}
        label="Pages of runs"
        cursor={cursor}
        nextCursor={page.data?.nextCursor}
        previousText="Newer runs"
        nextText="Older runs"
        go={(next) => go({ cursor: next })}
      />
    </section>
  );
}
