import { query } from '../api/client';
import { AUDIT_KINDS, type AuditPage as Page } from '../api/types';
import { navigate, type Location } from '../router';
import { dateTime } from '../ui/format';
import { ErrorNotice, Loading } from '../ui/notice';
import { Pager } from '../ui/pager';
import { StateBadge } from '../ui/state-badge';
import { useFetch } from '../ui/use-fetch';

const PAGE_SIZE = 50;

export function AuditPage({ location }: { location: Location }) {
  const p = location.params;
  const filters = { kind: p.get('kind') ?? '', app: p.get('app') ?? '', env: p.get('env') ?? '' };
  const cursor = p.get('cursor') ?? '';
  const page = useFetch<Page>(`/api/audit${query({ ...filters, cursor, limit: PAGE_SIZE })}`);

  const go = (next: Partial<typeof filters> & { cursor?: string }) =>
    navigate(`/audit${query({ ...filters, ...next })}`);

  const onSubmit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    go({
      kind: String(form.get('kind') ?? ''),
      app: String(form.get('app') ?? '').trim(),
      env: String(form.get('env') ?? '').trim(),
      cursor: '',
    });
  };

  return (
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit</h1>
      <p class="muted">
        Every decision (approvals, rejections, rollbacks, break-glass, policy changes): by whom and when.
      </p>
      <form class="filters" onSubmit={onSubmit} aria-label="Filter the audit trail">
        <label>
          Kind
          <select name="kind" value={filters.kind}>
            <option value="">any</option>
            {AUDIT_KINDS.map((k) => (
              <option value={k}>{k}</option>
            ))}
          </select>
        </label>
        <label>
          App
          <input name="app" value={filters.app} autocomplete="off" />
        </label>
        <label>
          Environment
          <input name="env" value={filters.env} autocomplete="off" />
        </label>
        <button type="submit">Filter</button>
      </form>
      {page.error ? <ErrorNotice error={page.error} what="read the audit trail" /> : null}
      {page.loading && !page.data ? <Loading what="the audit trail" /> : null}
      {page.data && page.data.entries.length === 0 ? <p class="muted">No entries match.</p> : null}
      {page.data && page.data.entries.length > 0 ? (
        <div class="table-wrap">
          <table class="audit">
            <caption class="visually-hidden">Audit entries, oldest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Kind</th>
                <th scope="col">Who</th>
                <th scope="col">Where</th>
                <th scope="col">Outcome</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {page.data.entries.map((e) => (
                <tr key={e.id} data-kind={e.kind}>
                  <td>
                    <time dateTime={e.at}>{dateTime(e.at)}</time>
                  </td>
                  <td>
                    {e.kind}
                    {e.breakGlass ? (
                      <strong class="break-glass">
                        {' '}
                        <span aria-hidden="true">⚠</span> break-glass
                      </strong>
                    ) : null}
                  </td>
                  <td>
                    {e.actor}
                    <div class="sub">via {e.via}</div>
                  </td>
                  <td>
                    {[e.app, e.env].filter(Boolean).join(' / ') || '—'}
                    {e.runId ? (
                      <div class="sub">
                        <a href={`/runs/${e.runId}`}>run {e.runId.slice(-8)}</a>
                      </div>
                    ) : null}
                  </td>
                  <td>
                    <StateBadge state={e.outcome} />
                  </td>
                  <td class="reason">{e.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <Pager
        key={JSON.stringify(filters)}
        label="Pages of the audit trail"
        cursor={cursor}
        nextCursor={page.data?.nextCursor}
        previousText="Previous page"
        nextText="Next page"
        go={(next) => go({ cursor: next })}
      />
    </section>
  );
}
