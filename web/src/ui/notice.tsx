import type { ComponentChildren } from 'preact';
import { ApiError } from '../api/client';

export function ErrorNotice({ error, what }: { error: Error; what: string }) {
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div class="notice notice-bad" role="alert">
      <span aria-hidden="true">✗ </span>
      Could not {what}: {error.message}
      {code ? <code class="code">{code}</code> : null}
    </div>
  );
}

export function Notice({
  tone,
  children,
}: {
  tone: 'ok' | 'bad' | 'warn' | 'info';
  children: ComponentChildren;
}) {
  const icon = { ok: '✓', bad: '✗', warn: '!', info: 'i' }[tone];
  return (
    <div class={`notice notice-${tone}`} role={tone === 'bad' ? 'alert' : 'status'}>
      <span aria-hidden="true" class="notice-icon">
        {icon}
      </span>{' '}
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}
