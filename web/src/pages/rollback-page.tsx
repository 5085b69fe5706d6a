import { useEffect, useState } from 'preact/hooks';
import { ApiError, postJson } from '../api/client';
import type { Environments, Me, RollbackPreview, RollbackStarted } from '../api/types';
import { navigate, type Location } from '../router';
import { dateTime, shortSha } from '../ui/format';
import { ErrorNotice, Loading, Notice } from '../ui/notice';
import { useFetch } from '../ui/use-fetch';

function DiffView({ diff }: { diff: string }) {
  if (!diff.trim()) return <p class="muted">No difference in the rendered manifests.</p>;
  return (
    <pre class="diff" tabIndex={0} aria-label="Manifest diff">
      {diff.split('\n').map((line, i) => {
        // The +/- sign stays in the text: colour is a second cue, not the only one.
        const tone =
          line.startsWith('+') && !line.startsWith('+++')
            ? 'add'
            : line.startsWith('-') && !line.startsWith('---')
              ? 'del'
              : '';
        return (
          <span key={i} class={tone ? `diff-${tone}` : undefined}>
            {line}
            {'\n'}
          </span>
        );
      })}
    </pre>
  );
}

function side(value: RollbackPreview['from']): string {
  if (!value) return '?';
  if (typeof value === 'string') return value;
  return [value.version, value.commit ? shortSha(value.commit) : undefined].filter(Boolean).join(' ');
}

export function RollbackPage({ me, location }: { me: Me; location: Location }) {
  const matrix = useFetch<Environments>('/api/environments');
  const app = location.params.get('app') ?? '';
  const env = location.params.get('env') ?? '';
  const [to, setTo] = useState('');
  const [reason, setReason] = useState('');
  const [breakGlass, setBreakGlass] = useState('');
  const [frozen, setFrozen] = useState<string>();
  const [preview, setPreview] = useState<RollbackPreview>();
  const [previewError, setPreviewError] = useState<Error>();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ tone: 'ok' | 'bad'; text: string; runId?: string }>();

  const data = matrix.data;
  const apps = data?.apps ?? [];
  const envs = data?.environments ?? [];
  const cell = data?.cells.find((c) => c.app === app && c.env === env);
  const candidates = cell?.previous ?? [];
  const allowed = me.roles.admin || me.roles.operatorOf.includes(env);

  useEffect(() => {
    setTo('');
    setPreview(undefined);
    setPreviewError(undefined);
    setFrozen(undefined);
    setResult(undefined);
  }, [app, env]);

  useEffect(() => {
    setPreview(undefined);
    setPreviewError(undefined);
    if (!to || !app || !env) return;
    let current = true;
    postJson<RollbackPreview>('/api/rollbacks/preview', { app, env, to }).then(
      (p) => current && setPreview(p),
      (e: Error) => current && setPreviewError(e),
    );
    return () => {
      current = false;
    };
  }, [app, env, to]);

  const choose = (next: { app?: string; env?: string }) => {
    const params = new URLSearchParams({ app: next.app ?? app, env: next.env ?? env });
    navigate(`/rollback?${params.toString()}`, { replace: true });
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setResult(undefined);
    try {
      const body = {
        app,
        env,
        to,
        reason: reason.trim(),
        ...(frozen !== undefined && breakGlass.trim() ? { breakGlass: { reason: breakGlass.trim() } } : {}),
      };
      const started = await postJson<RollbackStarted>('/api/rollbacks', body);
      if (started.error) {
        setResult({ tone: 'bad', text: `${started.error.message} (${started.error.code})` });
      } else {
        setResult({
          tone: 'ok',
          text: started.runId ? 'Rollback started.' : `Rollback ${started.status ?? 'queued'}.`,
          runId: started.runId,
        });
      }
    } catch (err) {
      if (err instanceof ApiError && err.code === 'SHIPGATE_E_ROLLBACK_FROZEN') {
        setFrozen(err.message);
      } else {
        const e = err as Error;
        setResult({ tone: 'bad', text: `${e.message}${err instanceof ApiError ? ` (${err.code})` : ''}` });
      }
    } finally {
      setBusy(false);
    }
  };

  if (matrix.error && !data) return <ErrorNotice error={matrix.error} what="read the environments" />;
  if (!data) return <Loading what="environments" />;
  const needsBreakGlass = frozen !== undefined && !breakGlass.trim();
  const ready = allowed && app && env && to && reason.trim() && preview && !needsBreakGlass && !busy;
  const showMissing = !ready && allowed && !busy;

  return (
    <section aria-labelledby="rollback-title">
      <h1 id="rollback-title">Roll back</h1>
      <p class="muted">
        Put an earlier good version back in an environment. It is released like any other change: committed to
        the environment repository, synced and verified, and recorded in the audit trail under your name.
      </p>
      <form class="stack" onSubmit={(e) => void submit(e)}>
        <div class="filters">
          <label>
            App
            <select
              name="app"
              value={app}
              onChange={(e) => choose({ app: (e.currentTarget as HTMLSelectElement).value })}
            >
              <option value="">choose…</option>
              {apps.map((a) => (
                <option value={a}>{a}</option>
              ))}
            </select>
          </label>
          <label>
            Environment
            <select
              name="env"
              value={env}
              onChange={(e) => choose({ env: (e.currentTarget as HTMLSelectElement).value })}
            >
              <option value="">choose…</option>
              {envs.map((e) => (
                <option value={e}>{e}</option>
              ))}
            </select>
          </label>
        </div>
        {app && env && !allowed ? (
          <Notice tone="warn">
            You are not an operator of {env}: you can look, but only an operator named in the platform policy
            can roll back there.
          </Notice>
        ) : null}
        {cell ? (
          <p>
            Live now: <strong>{cell.version ?? 'nothing'}</strong>{' '}
            <span class="mono">{shortSha(cell.commit)}</span>
          </p>
        ) : null}
        {app && env ? (
          candidates.length === 0 ? (
            <p class="muted">
              No earlier good version of {app} in {env}.
            </p>
          ) : (
            <fieldset>
              <legend>Earlier good version</legend>
              {candidates.map((p) => (
                <label class="radio" key={p.commit}>
                  <input
                    type="radio"
                    name="to"
                    value={p.commit}
                    checked={to === p.commit}
                    onChange={() => setTo(p.commit)}
                  />
                  {p.version} <span class="mono sub">{shortSha(p.commit)}</span>{' '}
                  <span class="sub">live from {dateTime(p.at)}</span>
                </label>
              ))}
            </fieldset>
          )
        ) : null}
        {previewError ? <ErrorNotice error={previewError} what="show the diff" /> : null}
        {preview ? (
          <section aria-label="What changes">
            <h2>
              Diff: {side(preview.from)} → {side(preview.to)}
            </h2>
            <DiffView diff={preview.diff} />
          </section>
        ) : to ? (
          <Loading what="the diff" />
        ) : null}
        <label class="block">
          Reason (required, recorded in the audit trail)
          <textarea
            name="reason"
            rows={3}
            required
            maxLength={2000}
            value={reason}
            onInput={(e) => setReason((e.currentTarget as HTMLTextAreaElement).value)}
          />
        </label>
        {frozen !== undefined ? (
          <>
            <Notice tone="warn">
              {frozen || 'This environment is frozen.'} A rollback now needs break-glass: give a written
              reason; it is audited and announced in Slack.
            </Notice>
            <label class="block">
              Break-glass reason
              <textarea
                name="breakGlass"
                rows={2}
                maxLength={2000}
                value={breakGlass}
                onInput={(e) => setBreakGlass((e.currentTarget as HTMLTextAreaElement).value)}
              />
            </label>
          </>
        ) : null}
        {showMissing ? (
          <p class="sub" id="rollback-missing">
            To confirm:{' '}
            {[
              !app || !env ? 'choose an app and environment' : '',
              app && env && !to ? 'pick a version' : '',
              to && !preview ? 'wait for the diff' : '',
              !reason.trim() ? 'give a reason' : '',
              needsBreakGlass ? 'give a break-glass reason' : '',
            ]
              .filter(Boolean)
              .join(', ')}
            .
          </p>
        ) : null}
        <div class="buttons">
          <button
            type="submit"
            class="danger"
            disabled={!ready}
            aria-describedby={showMissing ? 'rollback-missing' : undefined}
          >
            {frozen !== undefined ? 'Break glass and roll back' : 'Confirm rollback'}
          </button>
        </div>
      </form>
      {result ? (
        <Notice tone={result.tone}>
          {result.text} {result.runId ? <a href={`/runs/${result.runId}`}>Follow the rollback run</a> : null}
        </Notice>
      ) : null}
    </section>
  );
}
