/**
 * A state shown as an icon, a word and a colour together, so colour is never the only cue
 * (colour-blind users, greyscale screens). The icon is decorative: the word carries the meaning.
 */

type Tone = 'ok' | 'bad' | 'warn' | 'busy' | 'idle';

const STATES: Record<string, { icon: string; tone: Tone; label?: string }> = {
  queued: { icon: '○', tone: 'idle' },
  gating: { icon: '◔', tone: 'busy' },
  deploying: { icon: '◑', tone: 'busy' },
  verifying: { icon: '◕', tone: 'busy' },
  'awaiting-approval': { icon: '⏸', tone: 'warn', label: 'awaiting approval' },
  succeeded: { icon: '✓', tone: 'ok' },
  success: { icon: '✓', tone: 'ok' },
  approved: { icon: '✓', tone: 'ok' },
  approve: { icon: '✓', tone: 'ok', label: 'approved' },
  healthy: { icon: '✓', tone: 'ok' },
  started: { icon: '▶', tone: 'busy' },
  failed: { icon: '✗', tone: 'bad' },
  failure: { icon: '✗', tone: 'bad' },
  refused: { icon: '✗', tone: 'bad' },
  rejected: { icon: '✗', tone: 'bad' },
  reject: { icon: '✗', tone: 'bad', label: 'rejected' },
  degraded: { icon: '✗', tone: 'bad' },
  missing: { icon: '?', tone: 'bad' },
  'rolled-back': { icon: '↺', tone: 'bad', label: 'rolled back' },
  progressing: { icon: '◑', tone: 'busy' },
  suspended: { icon: '⏸', tone: 'warn' },
  cancelled: { icon: '⊘', tone: 'idle' },
  superseded: { icon: '⤳', tone: 'idle' },
  neutral: { icon: '–', tone: 'idle' },
  skipped: { icon: '–', tone: 'idle' },
  unknown: { icon: '?', tone: 'idle' },
};

export function StateBadge({ state, label }: { state: string | null | undefined; label?: string }) {
  const key = (state ?? 'unknown').toLowerCase();
  const known = STATES[key] ?? { icon: '•', tone: 'idle' as Tone };
  return (
    <span class={`badge tone-${known.tone}`} data-state={key}>
      <span aria-hidden="true" class="badge-icon">
        {known.icon}
      </span>
      {label ?? known.label ?? key}
    </span>
  );
}
