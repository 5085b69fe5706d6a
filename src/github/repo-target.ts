/** What every repository-scoped wrapper takes besides the Octokit. */
export interface RepoTarget {
  owner: string;
  repo: string;
  /** The webhook delivery that caused this call, sent as `x-github-delivery` for correlation. */
  deliveryId?: string;
}

/** Request options that carry the webhook delivery id to GitHub (and to our request log). */
export function correlation(deliveryId: string | undefined): { headers?: Record<string, string> } {
  return deliveryId ? { headers: { 'x-github-delivery': deliveryId } } : {};
}
