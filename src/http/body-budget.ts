/**
 * A byte budget shared by the large request bodies being read at one time. Large unverified
 * uploads cannot be told from genuine ones before they are read, so what bounds memory is how
 * many bytes may be in flight together: past the budget a request is refused at once (503, and
 * GitHub's redelivery or the sweep brings a genuine one back) instead of being buffered.
 */
export interface BodyBudget {
  /** Takes `bytes` from the budget; false (nothing taken) when they do not fit. */
  tryTake(bytes: number): boolean;
  give(bytes: number): void;
  /** Bytes taken now (for tests and metrics). */
  readonly inUse: number;
}

export function createBodyBudget(totalBytes: number): BodyBudget {
  let inUse = 0;
  return {
    tryTake(bytes) {
      if (inUse + bytes > totalBytes) return false;
      inUse += bytes;
      return true;
    },
    give(bytes) {
      inUse = Math.max(0, inUse - bytes);
    },
    get inUse() {
      return inUse;
    },
  };
}
