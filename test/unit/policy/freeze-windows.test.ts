import { describe, expect, it } from 'vitest';
import { PolicyEnvironmentUnknown } from '../../../src/errors.js';
import { activeFreeze, freezeAt } from '../../../src/policy/freeze-windows.js';
import type { FreezeWindow, Weekday } from '../../../src/policy/schema.js';
import {
  isValidTimeZone,
  localDateTimeAt,
  offsetAt,
  parseLocalDateTime,
  zonedToInstant,
} from '../../../src/policy/zoned-time.js';
import { examplePolicy, policyFrom } from './policy-fixtures.js';

const at = (iso: string) => new Date(iso);
const weekly = (
  days: Weekday[],
  from: string,
  to: string,
  timeZone: string,
  reason = 'freeze',
): FreezeWindow => ({
  kind: 'weekly',
  days,
  from,
  to,
  timeZone,
  reason,
});
const once = (start: string, end: string, timeZone: string, reason = 'freeze'): FreezeWindow => ({
  kind: 'once',
  start,
  end,
  timeZone,
  reason,
});

describe('zoned time', () => {
  it('knows IANA names and refuses the rest', () => {
    for (const tz of ['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) {
      expect(isValidTimeZone(tz), tz).toBe(true);
    }
    for (const tz of ['', 'Mars/Olympus', '+01:00', 'Europe/../etc', 'CET '])
      expect(isValidTimeZone(tz), tz).toBe(false);
  });

  it('parses local times and refuses impossible dates', () => {
    expect(parseLocalDateTime('2025-03-30 02:30')).toEqual({
      year: 2025,
      month: 3,
      day: 30,
      hour: 2,
      minute: 30,
      second: 0,
    });
    expect(parseLocalDateTime('2025-03-30T02:30:15')).toMatchObject({ second: 15 });
    expect(parseLocalDateTime('2025-03-30')).toMatchObject({ hour: 0, minute: 0 });
    for (const bad of ['2025-02-29', '2025-13-01', '2025-01-01 24:00', '2025-1-1', '2025-01-01T10:00Z']) {
      expect(parseLocalDateTime(bad), bad).toBeUndefined();
    }
  });

  it('reads offsets on both sides of a DST change', () => {
    expect(offsetAt(Date.parse('2025-03-30T00:59:59Z'), 'Europe/Berlin')).toBe(3_600_000);
    expect(offsetAt(Date.parse('2025-03-30T01:00:00Z'), 'Europe/Berlin')).toBe(7_200_000);
    expect(offsetAt(Date.parse('2025-01-15T12:00:00Z'), 'America/New_York')).toBe(-5 * 3_600_000);
    expect(localDateTimeAt(Date.parse('2025-07-01T00:30:00Z'), 'America/Los_Angeles')).toMatchObject({
      day: 30,
      month: 6,
      hour: 17,
    });
  });

  it('moves a time skipped by spring-forward to after the gap', () => {
    const instant = zonedToInstant(parseLocalDateTime('2025-03-30 02:30')!, 'Europe/Berlin');
    expect(new Date(instant).toISOString()).toBe('2025-03-30T01:30:00.000Z'); // 03:30 CEST
  });

  it('takes the earlier of a time repeated by fall-back', () => {
    const instant = zonedToInstant(parseLocalDateTime('2025-10-26 02:30')!, 'Europe/Berlin');
    expect(new Date(instant).toISOString()).toBe('2025-10-26T00:30:00.000Z'); // 02:30 CEST
  });

  it('handles the southern hemisphere and half-hour zones', () => {
    expect(
      new Date(zonedToInstant(parseLocalDateTime('2025-01-10 09:00')!, 'Australia/Sydney')).toISOString(),
    ).toBe('2025-01-09T22:00:00.000Z');
    expect(
      new Date(zonedToInstant(parseLocalDateTime('2025-06-10 09:00')!, 'Asia/Kolkata')).toISOString(),
    ).toBe('2025-06-10T03:30:00.000Z');
  });
});

describe('freezeAt', () => {
  it('applies a one-off window in its time zone, end exclusive', () => {
    const windows = [once('2025-12-19 17:00', '2026-01-05 08:00', 'Europe/Berlin', 'Year-end')];
    expect(freezeAt(windows, at('2025-12-19T15:59:59Z'))).toEqual({ frozen: false });
    expect(freezeAt(windows, at('2025-12-19T16:00:00Z'))).toEqual({
      frozen: true,
      until: at('2026-01-05T07:00:00Z'),
      reason: 'Year-end',
    });
    expect(freezeAt(windows, at('2026-01-05T07:00:00Z'))).toEqual({ frozen: false });
  });

  it('wraps a weekly window past midnight in the local zone, not UTC', () => {
    // Friday 17:00 to Saturday 09:00 in New York (EST, UTC-5 in January).
    const windows = [weekly(['fri'], '17:00', '09:00', 'America/New_York')];
    expect(freezeAt(windows, at('2025-01-10T21:59:00Z')).frozen).toBe(false); // Fri 16:59
    // Saturday 03:00 UTC is still Friday evening in New York.
    expect(freezeAt(windows, at('2025-01-11T03:00:00Z'))).toEqual({
      frozen: true,
      until: at('2025-01-11T14:00:00Z'),
      reason: 'freeze',
    });
    expect(freezeAt(windows, at('2025-01-11T14:00:00Z')).frozen).toBe(false);
    // Thursday evening is not a Friday.
    expect(freezeAt(windows, at('2025-01-10T03:00:00Z')).frozen).toBe(false);
  });

  it('is two hours long on the spring-forward night and four on the fall-back night', () => {
    const windows = [weekly(['sun'], '01:00', '04:00', 'Europe/Berlin')];
    expect(freezeAt(windows, at('2025-03-30T00:00:00Z'))).toMatchObject({
      frozen: true,
      until: at('2025-03-30T02:00:00Z'),
    });
    expect(freezeAt(windows, at('2025-03-30T02:00:00Z')).frozen).toBe(false);
    expect(freezeAt(windows, at('2025-10-25T22:59:59Z')).frozen).toBe(false);
    expect(freezeAt(windows, at('2025-10-25T23:00:00Z'))).toMatchObject({
      frozen: true,
      until: at('2025-10-26T03:00:00Z'),
    });
    expect(freezeAt(windows, at('2025-10-26T02:30:00Z'))).toMatchObject({
      frozen: true,
      until: at('2025-10-26T03:00:00Z'),
    });
  });

  it('starts a window whose start falls in the DST gap right after the gap', () => {
    const windows = [weekly(['sun'], '02:30', '05:00', 'Europe/Berlin')];
    expect(freezeAt(windows, at('2025-03-30T01:29:59Z')).frozen).toBe(false); // 03:29:59 CEST
    expect(freezeAt(windows, at('2025-03-30T01:30:00Z')).frozen).toBe(true);
  });

  it('treats from == to as a whole day and chains windows into one freeze', () => {
    const windows = [
      weekly(['fri'], '18:00', '00:00', 'Europe/Berlin', 'Friday evening'),
      weekly(['sat', 'sun'], '00:00', '00:00', 'Europe/Berlin', 'Weekend'),
    ];
    // Friday 2025-01-10 19:00 CET.
    expect(freezeAt(windows, at('2025-01-10T18:00:00Z'))).toEqual({
      frozen: true,
      until: at('2025-01-12T23:00:00Z'), // Monday 00:00 CET
      reason: 'Friday evening',
    });
    expect(freezeAt(windows, at('2025-01-12T22:59:59Z'))).toMatchObject({ frozen: true, reason: 'Weekend' });
    expect(freezeAt(windows, at('2025-01-12T23:00:00Z')).frozen).toBe(false);
  });

  it('reports every reason when windows overlap, and the latest end', () => {
    const windows = [
      once('2025-05-01', '2025-05-02', 'UTC', 'Holiday'),
      once('2025-05-01 12:00', '2025-05-03', 'UTC', 'Migration'),
    ];
    expect(freezeAt(windows, at('2025-05-01T13:00:00Z'))).toEqual({
      frozen: true,
      until: at('2025-05-03T00:00:00Z'),
      reason: 'Holiday; Migration',
    });
  });

  it('stops chaining after a bound when windows freeze everything', () => {
    const windows = [weekly(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], '00:00', '00:00', 'UTC')];
    const decision = freezeAt(windows, at('2025-01-01T12:00:00Z'));
    expect(decision.frozen).toBe(true);
    if (decision.frozen) expect(decision.until.getTime()).toBeGreaterThan(Date.parse('2025-02-01T00:00:00Z'));
  });
});

describe('activeFreeze', () => {
  it('uses the environment windows of the documented policy', () => {
    const policy = examplePolicy();
    // Friday 2025-06-13 17:00 CEST: in the weekly Friday freeze until Saturday 09:00.
    expect(activeFreeze(policy, 'production', at('2025-06-13T15:00:00Z'))).toEqual({
      frozen: true,
      until: at('2025-06-14T07:00:00Z'),
      reason: 'No Friday-evening production deploys',
    });
    expect(activeFreeze(policy, 'staging', at('2025-06-13T15:00:00Z'))).toEqual({ frozen: false });
    expect(activeFreeze(policy, 'production', at('2025-12-24T12:00:00Z'))).toMatchObject({
      frozen: true,
      reason: 'Year-end freeze',
    });
  });

  it('adds the policy-wide windows to every environment', () => {
    const policy = policyFrom(`version: 1
repos: { allow: [] }
environments:
  staging: { namespace: staging }
freezeWindows:
  - { start: "2025-05-01", end: "2025-05-02", timeZone: UTC, reason: Company holiday }
`);
    expect(activeFreeze(policy, 'staging', at('2025-05-01T10:00:00Z'))).toMatchObject({
      frozen: true,
      reason: 'Company holiday',
    });
  });

  it('throws a typed error for an environment the policy does not define', () => {
    expect(() => activeFreeze(examplePolicy(), 'qa', new Date())).toThrow(
      expect.objectContaining({ code: PolicyEnvironmentUnknown.code }),
    );
  });
});
