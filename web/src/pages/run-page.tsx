import { useRunEvents } from '../api/live';
import type { Me, RunDetail } from '../api/types';
import { between, dateTime, runTitle, shortSha } from '../ui/format';
import { ErrorNotice, Loading, Notice } from '../ui/notice';
import { StateBadge } from '../ui/state-badge';
import { useFetch } from '../ui/use-fetch';
import { commitsOf, deployStepsOf, timelineOf } from './run-timeline';

const ISO = /^\d{4}-\d\d-\d\dT[\d:.]+Z$/;

function valueText(value: unknown): string {
  if (typeof value === 'string') {
    if (/^[0-9a-f]{40}$/.test(value)) return shortSha(value);
    return ISO.test(value) ? dateTime(value) : value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(valueText).join('; ');
  if (value && typeof value === 'object') {
    // Who/when records read as a sentence; counts as `name value` pairs.
    const record = value as Record<string, unknown>;
    if ('by' in record || 'decision' in record) {
      const who = [record.decision, record.by, record.at].filter(Boolean).map(valueText).join(' ');
      // The approver's own words, as text (Preact escapes it): quoted so it reads as theirs.
      return typeof record.comment === 'string' && record.comment !== '' ? `${who} “${record.comment}”` : who;
    }
    return Object.entries(record)
      .filter(([, v]) => typeof v !== 'object' || v === null)
      .map(([k, v]) => `${k} ${valueText(v)}`)
      .join(', ');
  }
  return '';
}

const HIDDEN = new Set(['gate', 'env', 'conclusion']);

/** A stage's facts as one readable line: `key: value · …`, long shas shortened, no raw JSON. */
function detailText(detail: unknown): string {
  if (detail === undefined || detail === null) return '';
  if (typeof detail === 'string') return detail;
  return Object.entries(detail as Record<string, unknown>)
    .filter(([key, value]) => value !== undefined && value !== null && value !== '' && !HIDDEN.has(key))
    .map(([key, value]) => `${key}: ${valueText(value)}`)
    .filter((line) => !line.endsWith(': '))
    .join(' · ');
}

export function RunPage({ id, me }: { id: string; me: Me }) {
  const detail = useFetch<RunDetail>(`/api/runs/${encodeURIComponent(id)}`);
  // One read per announced change of this run: live without polling.
  useRunEvents((run) => {
    if (run.id === id) detail.reload();
  });

  if (detail.error && !detail.data) return <ErrorNotice error={detail.error} what={`read run ${id}`} />;
  if (!detail.data) return <Loading what="the run" />;
  const { run } = detail.data;
  const events = detail.data.events ?? [];
  const stages = timelineOf(run, events, detail.data.timeline);
  const github = me.githubUrl ?? 'https://github.com';
  const commits = commitsOf(run, events);
  const steps = deployStepsOf(events);
  const gates = Object.entries(run.gates ?? {});
  const rollbacks = events.filter((e) => e.type === 'rollback');
  const approvals = run.approvals ?? [];

  return (
    <article aria-labelledby="run-title">
      <div class="page-head">
        <h1 id="run-title">
          {run.app ?? run.repo} {runTitle(run)}
        </h1>
        <StateBadge state={run.state} />
      </div>
      <dl class="facts">
        <dt>Repository</dt>
        <dd>
          <a href={`${github}/${run.repo}`} data-external>
            {run.repo}
          </a>
        </dd>
        <dt>Commit</dt>
        <dd class="mono">
          <a href={`${github}/${run.repo}/commit/${run.sha}`} data-external>
            {shortSha(run.sha)}
          </a>{' '}
          ({run.ref})
        </dd>
        <dt>Kind</dt>
        <dd>{run.kind}</dd>
        <dt>By</dt>
        <dd>{run.releaser}</dd>
        {run.currentEnv ? (
          <>
            <dt>Environment</dt>
            <dd>{run.currentEnv}</dd>
          </>
        ) : null}
        <dt>Started</dt>
        <dd>{dateTime(run.createdAt)}</dd>
        <dt>Run id</dt>
        <dd class="mono">{run.id}</dd>
      </dl>
      {run.reason ? (
        <Notice tone={run.state === 'succeeded' ? 'info' : 'bad'}>
          <strong>Why: </strong>
          {run.reason}
        </Notice>
      ) : null}

      <h2>Timeline</h2>
      <div class="table-wrap">
        <table class="timeline">
          <thead>
            <tr>
              <th scope="col">Stage</th>
              <th scope="col">Outcome</th>
              <th scope="col">Started</th>
              <th scope="col">Ended</th>
              <th scope="col">Duration</th>
            </tr>
          </thead>
          <tbody>
            {stages.map((stage, i) => (
              <tr key={`${stage.name}-${i}`} data-stage={stage.name}>
                <th scope="row">
                  {stage.name}
                  {stage.detail ? <div class="sub">{detailText(stage.detail)}</div> : null}
                  {stage.steps && stage.steps.length > 0 ? (
                    <details>
                      <summary class="sub">{stage.steps.length} steps</summary>
                      <ol class="steps">
                        {stage.steps.map((step, j) => (
                          <li key={j} class="sub">
                            <time dateTime={step.at}>{dateTime(step.at)}</time> {step.message}
                          </li>
                        ))}
                      </ol>
                    </details>
                  ) : null}
                </th>
                <td>
                  <StateBadge state={stage.outcome ?? 'unknown'} />
                </td>
                <td>{dateTime(stage.startedAt)}</td>
                <td>{stage.endedAt ? dateTime(stage.endedAt) : 'running'}</td>
                <td>{between(stage.startedAt, stage.endedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>

      <h2>Gates</h2>
      {gates.length === 0 ? <p class="muted">No gate has reported yet.</p> : null}
      <ul class="cards">
        {gates.map(([name, gate]) => (
          <li class="card" key={name} data-gate={name}>
            <div class="card-head">
              <strong>{name}</strong> <StateBadge state={gate.conclusion} />
            </div>
            {gate.title ? <p>{gate.title}</p> : null}
            {gate.counts && Object.keys(gate.counts).length > 0 ? (
              <p class="sub">
                {Object.entries(gate.counts)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join(' · ')}
              </p>
            ) : null}
            <p class="sub">
              {gate.at ? `${dateTime(gate.at)} · ` : ''}
              <a
                href={gate.htmlUrl ?? gate.url ?? `${github}/${run.repo}/commit/${run.sha}/checks`}
                data-external
              >
                shipgate/{name} check run
              </a>
            </p>
            {gate.logTail ? (
              // Open when the gate failed: the end of its output is usually the reason.
              <details open={gate.conclusion === 'failure'} data-log={name}>
                <summary>Log tail{gate.logTruncated ? ' (last lines)' : ''}</summary>
                <pre class="log" tabIndex={0} aria-label={`Last output of ${name}`}>
                  {gate.logTail}
                </pre>
              </details>
            ) : null}
          </li>
        ))}
      </ul>

      {commits.length > 0 ? (
        <>
          <h2>Environment repository commits</h2>
          <ul class="cards">
            {commits.map((c) => (
              <li class="card" key={c.sha}>
                <div class="card-head">
                  <strong>{c.env}</strong> <span class="mono">{shortSha(c.sha)}</span>
                </div>
                {c.trailers ? (
                  <dl class="trailers">
                    {Object.entries(c.trailers).map(([k, v]) => (
                      <>
                        <dt>{k}</dt>
                        <dd>{Array.isArray(v) ? v.join(', ') : v}</dd>
                      </>
                    ))}
                  </dl>
                ) : c.message ? (
                  <pre class="log">{c.message}</pre>
                ) : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}

      {steps.size > 0 ? (
        <>
          <h2>Deploy steps</h2>
          {[...steps].map(([env, list]) => (
            <section key={env} aria-label={`Deploy steps in ${env}`}>
              <h3>{env}</h3>
              <ol class="steps">
                {list.map((e) => (
                  <li key={e.seq}>
                    <time dateTime={e.at}>{dateTime(e.at)}</time>{' '}
                    <strong>{e.type.slice('deploy:'.length)}</strong>
                    <div class="sub">{e.message}</div>
                  </li>
                ))}
              </ol>
            </section>
          ))}
        </>
      ) : null}

      <h2>Approvals</h2>
      {approvals.length === 0 ? <p class="muted">No approval decisions.</p> : null}
      {approvals.length > 0 ? (
        <ul class="plain">
          {approvals.map((a) => (
            <li key={`${a.env}-${a.at}`}>
              <StateBadge state={a.decision} /> {a.env} by <strong>{a.login ?? a.by ?? a.slackUserId}</strong>{' '}
              <time dateTime={a.at}>{dateTime(a.at)}</time>
              {a.via ? ` via ${a.via}` : ''}
              {a.comment ? <div class="sub">“{a.comment}”</div> : null}
            </li>
          ))}
        </ul>
      ) : null}

      {rollbacks.length > 0 || run.state === 'rolled-back' ? (
        <>
          <h2>Rollback</h2>
          {rollbacks.map((e) => (
            <Notice tone="warn" key={e.seq}>
              {e.message}
              {typeof e.data?.reason === 'string' ? <div class="sub">Why: {e.data.reason}</div> : null}
            </Notice>
          ))}
          {rollbacks.length === 0 && run.reason ? <Notice tone="warn">Why: {run.reason}</Notice> : null}
        </>
      ) : null}

      <details class="events">
        <summary>Event log ({events.length})</summary>
        <ol class="steps">
          {events.map((e) => (
            <li key={e.seq}>
              <time dateTime={e.at}>{dateTime(e.at)}</time> <span class="mono">{e.type}</span>
              <div class="sub">{e.message}</div>
            </li>
          ))}
        </ol>
      </details>
    </article>
  );
}
