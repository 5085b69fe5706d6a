import { useState } from 'preact/hooks';

/**
 * Back and forward through a list the API pages with an opaque cursor (`nextCursor`). The API
 * only knows the way forward, so the cursors already passed are kept here, to step back through.
 * Give it a `key` that changes with the page's filters: a new filter starts a new trail.
 */
export function Pager(props: {
  /** The accessible name of the navigation, e.g. "Pages of runs". */
  label: string;
  /** The cursor of the page shown ('' for the first page). */
  cursor: string;
  /** The API's `nextCursor` for the page shown; null or undefined on the last page. */
  nextCursor: string | null | undefined;
  previousText: string;
  nextText: string;
  /** Shows the page at `cursor`. */
  go: (cursor: string) => void;
}) {
  const [passed, setPassed] = useState<string[]>([]);
  const { cursor, nextCursor, go } = props;
  return (
    <nav class="pager" aria-label={props.label}>
      {cursor ? (
        <button
          type="button"
          onClick={() => {
            const trail = passed.slice();
            const previous = trail.pop() ?? '';
            setPassed(trail);
            go(previous);
          }}
        >
          ← {props.previousText}
        </button>
      ) : null}
      {nextCursor ? (
        <button
          type="button"
          onClick={() => {
            setPassed([...passed, cursor]);
            go(nextCursor);
          }}
        >
          {props.nextText} →
        </button>
      ) : null}
    </nav>
  );
}
