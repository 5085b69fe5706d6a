import { useEffect, useRef, useState } from 'preact/hooks';
import type { RunSummary } from './types';

/**
 * Live updates: one EventSource on /api/events for the whole page, shared by every view that
 * listens. No polling: a view that needs more than the summary re-reads its data when an event
 * names something it shows. EventSource reconnects by itself after a drop; the status lets the
 * page say whether it is live.
 */

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'off';

type Listener = (run: RunSummary) => void;
const listeners = new Set<Listener>();
const statusListeners = new Set<(status: LiveStatus) => void>();
let source: EventSource | undefined;
let status: LiveStatus = 'off';

function setStatus(next: LiveStatus): void {
  status = next;
  for (const listener of statusListeners) listener(next);
}

function open(): void {
  if (source !== undefined || typeof EventSource === 'undefined') return;
  setStatus('connecting');
  source = new EventSource('/api/events');
  source.addEventListener('open', () => setStatus('live'));
  source.addEventListener('error', () => {
    // CLOSED means the server refused (401 after the session ended): no automatic retry.
    setStatus(source?.readyState === EventSource.CLOSED ? 'off' : 'reconnecting');
  });
  source.addEventListener('run', (event) => {
    let run: RunSummary;
    try {
      run = JSON.parse((event as MessageEvent<string>).data) as RunSummary;
    } catch {
      return;
    }
    for (const listener of listeners) listener(run);
  });
}

export function closeLive(): void {
  source?.close();
  source = undefined;
  setStatus('off');
}

/** Calls `onRun` with each run summary the server announces, while the component is mounted. */
export function useRunEvents(onRun: Listener): void {
  const latest = useRef(onRun);
  latest.current = onRun;
  useEffect(() => {
    const listener: Listener = (run) => latest.current(run);
    listeners.add(listener);
    open();
    return () => {
      listeners.delete(listener);
    };
  }, []);
}

export function useLiveStatus(): LiveStatus {
  const [value, setValue] = useState(status);
  useEffect(() => {
    statusListeners.add(setValue);
    setValue(status);
    return () => {
      statusListeners.delete(setValue);
    };
  }, []);
  return value;
}
