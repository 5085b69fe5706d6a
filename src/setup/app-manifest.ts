/**
 * The GitHub App manifest Shipgate needs (GitHub's App-manifest flow, as Probot does it): exactly
 * the permissions and events the code uses, and where GitHub sends webhooks and the code back.
 * Pure: the setup command posts it from a local page.
 */
export const APP_PERMISSIONS = {
  checks: 'write', // shipgate/config, tests, trivy, zap, manifests check runs
  contents: 'write', // .shipgate.yml and checkouts; commits to the env repo
  deployments: 'write', // one GitHub Deployment per environment and release
  pull_requests: 'write', // PR mode on the env repo
  metadata: 'read', // mandatory
} as const;

export const APP_EVENTS = ['push', 'create', 'pull_request', 'check_run', 'check_suite'] as const;

export interface ManifestOptions {
  name: string;
  /** Where GitHub sends webhooks: https://<host>/webhooks/github, or a smee.io channel. */
  webhookUrl: string;
  /** The local page GitHub redirects to with the code. */
  redirectUrl: string;
  /** The App's home page. */
  url: string;
}

export function appManifest(options: ManifestOptions) {
  return {
    name: options.name,
    url: options.url,
    hook_attributes: { url: options.webhookUrl, active: true },
    redirect_url: options.redirectUrl,
    public: false,
    default_permissions: { ...APP_PERMISSIONS },
    default_events: [...APP_EVENTS],
  };
}

/** GitHub's web and API bases: github.com, or a GitHub Enterprise Server host. */
export function githubBases(serverUrl: string | undefined): { web: string; api: string } {
  if (serverUrl === undefined || /^https:\/\/github\.com\/?$/.test(serverUrl)) {
    return { web: 'https://github.com', api: 'https://api.github.com' };
  }
  const web = serverUrl.replace(/\/+$/, '');
  return { web, api: `${web}/api/v3` };
}

/** Where the page posts the manifest: a user's or an organisation's new-App form. */
export function newAppUrl(web: string, org: string | undefined, state: string): string {
  const where =
    org === undefined ? '/settings/apps/new' : `/organizations/${encodeURIComponent(org)}/settings/apps/new`;
  return `${web}${where}?state=${encodeURIComponent(state)}`;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The local page: one button that posts the manifest to GitHub. */
export function manifestPage(action: string, manifest: object): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Create the Shipgate GitHub App</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>Create the Shipgate GitHub App</h1>
<p>GitHub will show the App with the permissions and events Shipgate needs. Create it, and you
come back here; <code>shipgate setup</code> then writes <code>.env</code> and the private key.</p>
<form action="${escapeHtml(action)}" method="post">
<input type="hidden" name="manifest" value="${escapeHtml(JSON.stringify(manifest))}">
<button type="submit" style="font-size: 1.2rem">Create the App on GitHub</button>
</form></body></html>`;
}
