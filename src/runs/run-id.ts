import { randomBytes } from 'node:crypto';

/**
 * Run ids are ULIDs (https://github.com/ulid/spec): 48 bits of milliseconds and 80 random
 * bits in Crockford base32. They sort by creation time as plain strings, which is what lets
 * the indexes be lexicographic sorted sets with an exact, gap-free pagination cursor.
 */

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const RUN_ID_PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < 10; i += 1) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function freshRandom(): number[] {
  return [...randomBytes(16)].map((b) => b % 32);
}

/** Adds one to the 80-bit random part, so ids minted in one millisecond stay in order. */
function increment(digits: number[]): number[] {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i -= 1) {
    if (next[i]! < 31) {
      next[i]! += 1;
      return next;
    }
    next[i] = 0;
  }
  // 2^80 ids in one millisecond: not reachable in practice; start a fresh random part.
  return freshRandom();
}

/** A new run id. Monotonic within this process; `now` is a parameter for tests. */
export function newRunId(now: number = Date.now()): string {
  if (now === lastTime) {
    lastRandom = increment(lastRandom);
  } else {
    lastTime = now;
    lastRandom = freshRandom();
  }
  return encodeTime(now) + lastRandom.map((d) => ALPHABET[d]).join('');
}

export function isRunId(value: string): boolean {
  return RUN_ID_PATTERN.test(value);
}
