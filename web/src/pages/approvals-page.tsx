import { useState } from 'preact/hooks';
import { ApiError, postJson } from '../api/client';
import { useRunEvents } from '../api/live';
import type { PendingApproval } from '../api/types';
import { dateTime } from '../ui/format';
import { ErrorNotice, Loading, Notice } from '../ui/notice';
import { useFetch } from '../ui/use-fetch';

type Outcome = { tone: 'bad'; text: string };

function count(approvals: PendingApproval['approvals']): number {
  return Array.isArray(approvals) ? approvals.filter((a) => a.decision === 'approve').length : approvals;
}

function ApprovalCard({ item, onDecided }: { item: PendingApproval; onDecided: (text: string) => void }) {
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  const key = `${item.runId}-${item.env}`;
  const whyId = `why-${key}`;

  const decide = async (decision: 'approve' | 'reject') => {
    setBusy(true);
    setOutcome(undefined);
    try {
      await postJson(`/api/runs/${encodeURIComponent(item.runId)}/approvals`, {
        env: item.env,
        decision,
        comment: comment.trim() || undefined,
      });
      // The card leaves the list once the run moves on, so the page, not the card, says so.
      onDecided(
        `${decision === 'approve' ? 'Approved' : 'Rejected'}: ${item.app ?? '?'} ${item.version ?? ''} to ${item.env}.`,
      );
    } catch (err) {
      const e = err as Error;
      setOutcome({ tone: 'bad', text: `${e.message}${err instanceof ApiError ? ` (${err.code})` : ''}` });
    } finally {
      setBusy(false);
    }
  };

  return (
    <li class="card approval" data-run-id={item.runId} data-env={item.env}>
      <div class="card-head">
        <h2 class="h3">
          {item.app ?? '?'} {item.version ?? ''} → {item.env}
        </h2>
      </div>
      <dl class="facts">
        <dt>Released by</dt>
        <dd>{item.releaser}</dd>
        <dt>Approvals</dt>
        <dd>
          {count(item.approvals)} of {item.required}
        </dd>
        <dt>Expires</dt>
        <dd>{dateTime(item.expiresAt)}</dd>
        <dt>Run</dt>
        <dd>
          <a href={`/runs/${item.runId}`}>details and gates</a>
        </dd>
      </dl>
      <label class="block">
        Comment
        <textarea
          name="comment"
          rows={2}
          maxLength={500}
          value={comment}
          onInput={(e) => setComment((e.currentTarget as HTMLTextAreaElement).value)}
        />
      </label>
      {!item.canDecide ? (
        <p class="why-not" id={whyId}>
          <span aria-hidden="true">⊘ </span>You cannot decide: {item.whyNot ?? 'the policy does not allow it'}
        </p>
      ) : null}
      <div class="buttons">
        <button
          type="button"
          class="primary"
          disabled={!item.canDecide || busy}
          aria-describedby={item.canDecide ? undefined : whyId}
          onClick={() => void decide('approve')}
        >
          Approve
        </button>
        <button
          type="button"
          class="danger"
          disabled={!item.canDecide || busy}
          aria-describedby={item.canDecide ? undefined : whyId}
          onClick={() => void decide('reject')}
        >
          Reject
        </button>
      </div>
      {outcome ? <Notice tone={outcome.tone}>{outcome.text}</Notice> : null}
    </li>
  );
}

export function ApprovalsPage() {
  const list = useFetch<PendingApproval[]>('/api/approvals');
  const [decided, setDecided] = useState<string[]>([]);
  // A decision made in Slack or by another approver moves the run: read the list again.
  // Only runs that wait now, or that were waiting, can change this list.
  useRunEvents((run) => {
    if (run.state === 'awaiting-approval' || list.data?.some((item) => item.runId === run.id)) list.reload();
  });
  return (
    <section aria-labelledby="approvals-title">
      <h1 id="approvals-title">Approvals</h1>
      <p class="muted">Releases waiting for an approval you could give, under the platform policy.</p>
      {decided.map((text) => (
        <Notice tone="ok" key={text}>
          {text}
        </Notice>
      ))}
      {list.error && !list.data ? <ErrorNotice error={list.error} what="read the approvals" /> : null}
      {!list.data && !list.error ? <Loading what="approvals" /> : null}
      {list.data && list.data.length === 0 ? <p class="muted">Nothing waits for an approval.</p> : null}
      {list.data && list.data.length > 0 ? (
        <ul class="cards">
          {list.data.map((item) => (
            <ApprovalCard
              key={`${item.runId}-${item.env}`}
              item={item}
              onDecided={(text) => {
                setDecided((all) => [...all, text]);
                list.reload();
              }}
            />
          ))}
        </ul>
      ) : null}
    </section>
  );
}
