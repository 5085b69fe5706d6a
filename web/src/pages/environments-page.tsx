import { useRunEvents } from '../api/live';
import type { EnvCell, Environments, Me } from '../api/types';
import { ago, dateTime, shortSha } from '../ui/format';
import { ErrorNotice, Loading } from '../ui/notice';
import { StateBadge } from '../ui/state-badge';
import { useFetch } from '../ui/use-fetch';

const FINISHED = new Set(['succeeded', 'failed', 'rolled-back']);

function Cell({ cell, canRollBack }: { cell: EnvCell | undefined; canRollBack: boolean }) {
  if (!cell || !cell.version) return <span class="muted">nothing deployed</span>;
  return (
    <div class="cell">
      <div>
        <strong class="version">{cell.version}</strong> <StateBadge state={cell.health ?? 'unknown'} />
      </div>
      <div class="sub mono">commit {shortSha(cell.commit)}</div>
      <div class="sub">
        live since{' '}
        <time dateTime={cell.liveSince ?? undefined} title={dateTime(cell.liveSince)}>
          {ago(cell.liveSince)}
        </time>
        {cell.by ? ` by ${cell.by}` : ''}
      </div>
      {cell.previous && cell.previous.length > 0 ? (
        <details>
          <summary>Previous good versions ({cell.previous.length})</summary>
          <ul class="plain">
            {cell.previous.map((p) => (
              <li key={p.commit}>
                {p.version} <span class="mono sub">{shortSha(p.commit)}</span>{' '}
                <span class="sub">{dateTime(p.at)}</span>
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      {canRollBack && cell.previous && cell.previous.length > 0 ? (
        <a
          class="action"
          href={`/rollback?app=${encodeURIComponent(cell.app)}&env=${encodeURIComponent(cell.env)}`}
        >
          Roll back {cell.app} in {cell.env}…
        </a>
      ) : null}
    </div>
  );
}

export function EnvironmentsPage({ me }: { me: Me }) {
  const matrix = useFetch<Environments>('/api/environments');
  // What is live changes when a deploy finishes: read the matrix again then, not on a timer.
  useRunEvents((run) => {
    if (FINISHED.has(run.state) && run.kind !== 'pr') matrix.reload();
  });
  if (matrix.error && !matrix.data) return <ErrorNotice error={matrix.error} what="read the environments" />;
  if (!matrix.data) return <Loading what="environments" />;
  const { apps, environments, cells } = matrix.data;
  const cellOf = (app: string, env: string) => cells.find((c) => c.app === app && c.env === env);
  const operator = (env: string) => me.roles.admin || me.roles.operatorOf.includes(env);
  return (
    <section aria-labelledby="env-title">
      <h1 id="env-title">Environments</h1>
      <p class="muted">What is live where, read from the environment repository; health from Argo CD.</p>
      {apps.length === 0 ? <p class="muted">No app is deployed yet.</p> : null}
      {apps.length > 0 ? (
        <div class="table-wrap">
          <table class="matrix">
            <caption class="visually-hidden">Apps by environment</caption>
            <thead>
              <tr>
                <th scope="col">App</th>
                {environments.map((env) => (
                  <th scope="col" key={env}>
                    {env}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {apps.map((app) => (
                <tr key={app}>
                  <th scope="row">{app}</th>
                  {environments.map((env) => (
                    <td key={env} data-app={app} data-env={env}>
                      <Cell cell={cellOf(app, env)} canRollBack={operator(env)} />
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
