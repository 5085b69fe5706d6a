/**
 * Wall-clock time in IANA time zones with nothing but `Intl` (no tz database dependency: Node
 * ships ICU). Freeze windows are written in local time ("from 18:00 Europe/Berlin"), and must
 * stay right across daylight-saving changes.
 */

export interface LocalDateTime {
  year: number;
  /** 1-12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True for a time zone name `Intl` knows (IANA names such as `Europe/Berlin`, and `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  // Only names: Intl also takes offsets ("+01:00") on recent Node versions, which have no DST
  // rules and would make "local time" mean something else than the reader thinks.
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(timeZone)) return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock time at `instantMs` in `timeZone` (whole seconds). */
export function localDateTimeAt(instantMs: number, timeZone: string): LocalDateTime {
  const parts: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** Milliseconds to add to UTC to get local time at `instantMs` (+3_600_000 for CET). */
export function offsetAt(instantMs: number, timeZone: string): number {
  const local = localDateTimeAt(instantMs, timeZone);
  const wholeSeconds = Math.floor(instantMs / 1000) * 1000;
  return asUtc(local) - wholeSeconds;
}

/**
 * The instant a wall-clock time happens in `timeZone`, resolved like Temporal's `compatible`
 * disambiguation: a time repeated when clocks go back is its earlier occurrence; a time skipped
 * when clocks go forward is moved forward by the length of the gap (02:30 → 03:30).
 */
export function zonedToInstant(local: LocalDateTime, timeZone: string): number {
  const wall = asUtc(local);
  const day = 24 * 60 * 60 * 1000;
  // Offsets in force a day before and a day after bracket any transition near this time.
  const before = offsetAt(wall - day, timeZone);
  const after = offsetAt(wall + day, timeZone);
  const candidates = [...new Set([wall - before, wall - after])].filter(
    (instant) => offsetAt(instant, timeZone) === wall - instant,
  );
  if (candidates.length > 0) return Math.min(...candidates);
  return wall - before;
}

/** The local date `days` after `local`'s date, at the given time of day. */
export function shiftLocalDate(
  local: LocalDateTime,
  days: number,
  hour: number,
  minute: number,
): LocalDateTime {
  const d = new Date(Date.UTC(local.year, local.month - 1, local.day + days));
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour,
    minute,
    second: 0,
  };
}

/** 0 = Monday … 6 = Sunday, for a local date. */
export function weekdayOf(local: LocalDateTime): number {
  return (new Date(Date.UTC(local.year, local.month - 1, local.day)).getUTCDay() + 6) % 7;
}

function asUtc(local: LocalDateTime): number {
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
}

/** Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` or `YYYY-MM-DD HH:MM[:SS]`; undefined when not a real time. */
export function parseLocalDateTime(text: string): LocalDateTime | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text);
  if (!m) return undefined;
  const local: LocalDateTime = {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4] ?? 0),
    minute: Number(m[5] ?? 0),
    second: Number(m[6] ?? 0),
  };
  const d = new Date(asUtc(local));
  const roundTrips =
    d.getUTCFullYear() === local.year &&
    d.getUTCMonth() + 1 === local.month &&
    d.getUTCDate() === local.day &&
    d.getUTCHours() === local.hour &&
    d.getUTCMinutes() === local.minute &&
    d.getUTCSeconds() === local.second;
  return roundTrips ? local : undefined;
}
