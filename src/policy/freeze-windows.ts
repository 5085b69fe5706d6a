import { PolicyEnvironmentUnknown } from '../errors.js';
import type { FreezeWindow, Policy, Weekday } from './schema.js';
import { WEEKDAYS } from './schema.js';
import {
  localDateTimeAt,
  parseLocalDateTime,
  shiftLocalDate,
  weekdayOf,
  zonedToInstant,
} from './zoned-time.js';

export type FreezeDecision = { frozen: false } | { frozen: true; until: Date; reason: string };

interface Interval {
  start: number;
  end: number;
  reason: string;
}

/** Windows that follow each other (Friday evening, then the weekend) are one freeze; this many at most. */
const MAX_CHAINED_WINDOWS = 64;

/**
 * Whether `environment` is frozen at `now`: by its own windows or the policy-wide ones. `until`
 * is when the freeze really ends, following windows that start where another ends, so "frozen
 * until" is never a moment that is itself frozen. Throws `PolicyEnvironmentUnknown` for an
 * undefined environment (a caller bug: targets are resolved first).
 */
export function activeFreeze(policy: Policy, environment: string, now: Date): FreezeDecision {
  const env = Object.hasOwn(policy.environments, environment) ? policy.environments[environment] : undefined;
  if (!env) throw PolicyEnvironmentUnknown(environment);
  const windows = [...policy.freezeWindows, ...env.freezeWindows];
  return freezeAt(windows, now);
}

export function freezeAt(windows: readonly FreezeWindow[], now: Date): FreezeDecision {
  const t = now.getTime();
  const covering = intervalsContaining(windows, t);
  if (covering.length === 0) return { frozen: false };
  const reasons = [...new Set(covering.map((i) => i.reason))];
  let until = Math.max(...covering.map((i) => i.end));
  for (let i = 0; i < MAX_CHAINED_WINDOWS; i += 1) {
    const next = intervalsContaining(windows, until);
    if (next.length === 0) break;
    const end = Math.max(...next.map((n) => n.end));
    if (end <= until) break;
    until = end;
  }
  return { frozen: true, until: new Date(until), reason: reasons.join('; ') };
}

function intervalsContaining(windows: readonly FreezeWindow[], t: number): Interval[] {
  const found: Interval[] = [];
  for (const window of windows) {
    for (const interval of occurrencesNear(window, t)) {
      if (interval.start <= t && t < interval.end) found.push(interval);
    }
  }
  return found;
}

function occurrencesNear(window: FreezeWindow, t: number): Interval[] {
  if (window.kind === 'once') {
    return [
      {
        start: zonedToInstant(parseLocalDateTime(window.start)!, window.timeZone),
        end: zonedToInstant(parseLocalDateTime(window.end)!, window.timeZone),
        reason: window.reason,
      },
    ];
  }
  // A weekly occurrence lasts at most a day, so only one starting on today's or yesterday's
  // local date can contain t.
  const today = localDateTimeAt(t, window.timeZone);
  const [fromHour, fromMinute] = window.from.split(':').map(Number) as [number, number];
  const [toHour, toMinute] = window.to.split(':').map(Number) as [number, number];
  const wraps = toHour * 60 + toMinute <= fromHour * 60 + fromMinute;
  const intervals: Interval[] = [];
  for (const dayOffset of [-1, 0]) {
    const startLocal = shiftLocalDate(today, dayOffset, fromHour, fromMinute);
    if (!window.days.includes(WEEKDAYS[weekdayOf(startLocal)] as Weekday)) continue;
    const endLocal = shiftLocalDate(today, dayOffset + (wraps ? 1 : 0), toHour, toMinute);
    intervals.push({
      start: zonedToInstant(startLocal, window.timeZone),
      end: zonedToInstant(endLocal, window.timeZone),
      reason: window.reason,
    });
  }
  return intervals;
}
