import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { getJson } from '../api/client';

export interface Fetched<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  /** Reads again, keeping the current data on screen meanwhile (no flicker on live updates). */
  reload: () => void;
}

/** GET `path` when it changes; an older answer never overwrites a newer one. */
export function useFetch<T>(path: string | null): Fetched<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<Error>();
  const [loading, setLoading] = useState(path !== null);
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  useEffect(() => {
    if (path === null) return;
    const ticket = ++latest.current;
    const controller = new AbortController();
    setLoading(true);
    getJson<T>(path, controller.signal).then(
      (value) => {
        if (ticket !== latest.current) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (err: Error) => {
        if (ticket !== latest.current || controller.signal.aborted) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => controller.abort();
  }, [path, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}
