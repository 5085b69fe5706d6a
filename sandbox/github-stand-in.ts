/**
 * A local GitHub REST API for tests: node:http on 127.0.0.1 port 0, speaking the request
 * and response shapes of the GitHub REST docs (and the objects in @octokit/webhooks-examples)
 * for the endpoints Shipgate uses. Drive it through the real Octokit clients by pointing
 * `apiUrl` / `GITHUB_API_URL` at `standIn.url`.
 *
 * It enforces what the real API enforces where Shipgate could get it wrong: App JWTs are
 * verified (RS256 against the App's public key, `iss` = App id, lifetime), installation
 * tokens are issued, remembered, scoped to repositories and checked on every repository
 * route (401 when missing or unknown), check-run output limits (65,535 characters, 50
 * annotations per request), deployment status descriptions (140), and duplicate open PRs.
 *
 * Faults: `failNext({ path, status, times })` answers matching requests with an error before
 * doing anything (a proxy's 502), `afterHandling: true` applies the request and then answers
 * with the error (the "did it happen?" case), and `hang: true` never answers.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';
import { closeServer, listenOnFreePort } from './listen.js';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { runGitHttpBackend } from './git-remote.js';
import { createOAuthStandIn, type OAuthStandIn } from './github-oauth-stand-in.js';

export interface StandInInstallation {
  id: number;
  /** Account login the App is installed on; `*` covers every owner. */
  account: string;
  /** Repository names (without owner) the installation may access; unset = all. */
  repositories?: string[];
}

export interface GithubStandInOptions {
  appId: number | string;
  /** The App's public key (PEM), to verify the JWTs the client signs with the private key. */
  publicKeyPem: string;
  /** @defaultValue `[{ id: 1, account: '*' }]` */
  installations?: StandInInstallation[];
  /** Lifetime of issued installation tokens. @defaultValue 3600 */
  tokenTtlSeconds?: number;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Lower-cased header names; the Authorization value is reduced to its scheme. */
  headers: Record<string, string>;
  body: unknown;
  /** Status the stand-in answered with (undefined while a request hangs). */
  status?: number;
  /** When it arrived (epoch ms), for latency measurements. */
  at: number;
  /** When its answer was sent in full (epoch ms); unset until then. */
  doneAt?: number;
}

export interface FaultRule {
  method?: string;
  /** Tested against the path without the query string. */
  path: RegExp;
  /** @defaultValue 502 */
  status?: number;
  /** @defaultValue 1 */
  times?: number;
  /** JSON body (object) or raw text (string, sent as text/html like a proxy's error page). */
  body?: unknown;
  headers?: Record<string, string>;
  /** Never answer (until `close()`), to exercise client timeouts. */
  hang?: boolean;
  /** Apply the request, then answer with the error anyway. */
  afterHandling?: boolean;
  /** Only requests whose parsed JSON body satisfies this match (for example one check name). */
  body_matches?: (body: unknown) => boolean;
  /**
   * Answer normally, but only after this long: a slow GitHub, to open the window of a race.
   * No error status is sent unless `status` is set too.
   */
  delayMs?: number;
}

type Json = Record<string, unknown>;

export interface StoredAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column: number | null;
  end_column: number | null;
  annotation_level: string;
  title: string | null;
  message: string;
  raw_details: string | null;
  blob_href: string;
}

export interface GithubStandIn {
  readonly url: string;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[];
  setFile(owner: string, repo: string, ref: string, path: string, content: string | Buffer): void;
  checkRuns(owner: string, repo: string): (Json & { id: number; annotations: StoredAnnotation[] })[];
  deployments(owner: string, repo: string): (Json & { id: number })[];
  /** Newest first, as GitHub lists them. */
  deploymentStatuses(deploymentId: number): (Json & { id: number; state: string })[];
  pullRequests(owner: string, repo: string): (Json & { number: number })[];
  /** Merges a PR as if a person pressed the button (give the real merge commit when there is one). */
  mergePullRequest(number: number, options?: { mergeCommitSha?: string }): void;
  closePullRequest(number: number): void;
  failNext(rule: FaultRule): void;
  /** Installation tokens issued so far (count only; the values stay inside). */
  readonly tokensIssued: number;
  /** Whether `token` is a live installation token that may access owner/repo (for git stand-ins). */
  isTokenValidFor(token: string, owner: string, repo: string): boolean;
  /** Revokes every issued installation token, as uninstalling the App would. */
  revokeTokens(): void;
  /**
   * Serves the bare repository `bareDir` over smart HTTP at `<url>/<owner>/<repo>.git`, behind
   * installation-token Basic auth, as github.com serves clones. With GITHUB_API_URL pointing at
   * the stand-in, Shipgate's own clone URLs and token minting reach it unchanged.
   */
  hostGitRepo(owner: string, repo: string, bareDir: string): void;
  /** The GitHub App's OAuth web flow and the user endpoints (console sign-in): see github-oauth-stand-in.ts. */
  readonly oauth: OAuthStandIn;
  close(): Promise<void>;
}

const GITHUB_HTML = 'https://github.example';
const ONE_MB = 1024 * 1024;
const OUTPUT_MAX = 65_535;
const DOCS = 'https://docs.github.com/rest';
const PERMISSIONS = {
  checks: 'write',
  contents: 'write',
  deployments: 'write',
  pull_requests: 'write',
  metadata: 'read',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Json[],
  ) {
    super(message);
  }
}

interface TokenRecord {
  installationId: number;
  expiresAt: number;
  repositories: string[] | undefined;
}

interface Context {
  method: string;
  pathname: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Json;
  params: Record<string, string>;
  /** Repository owner/name when the route is under /repos/{owner}/{repo}. */
  owner: string;
  repo: string;
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

type Handler = (ctx: Context) => Reply;
interface Route {
  method: string;
  pattern: RegExp;
  auth: 'app' | 'installation';
  handler: Handler;
}

export async function startGithubStandIn(options: GithubStandInOptions): Promise<GithubStandIn> {
  const appId = String(options.appId);
  const publicKey: KeyObject = createPublicKey(options.publicKeyPem);
  const installations = options.installations ?? [{ id: 1, account: '*' }];
  const tokenTtlMs = (options.tokenTtlSeconds ?? 3600) * 1000;

  let nextId = 1000;
  const newId = () => nextId++;
  const requests: RecordedRequest[] = [];
  const faults: (FaultRule & { remaining: number })[] = [];
  const tokens = new Map<string, TokenRecord>();
  let tokensIssued = 0;
  const files = new Map<string, Map<string, Buffer>>();
  const checkRuns = new Map<number, Json & { id: number; owner: string; repo: string }>();
  const annotations = new Map<number, StoredAnnotation[]>();
  const deployments = new Map<number, Json & { id: number; owner: string; repo: string }>();
  const statuses = new Map<number, (Json & { id: number; state: string })[]>();
  const pulls = new Map<number, Json & { number: number; owner: string; repo: string }>();
  const hung: ServerResponse[] = [];
  let baseUrl = '';

  const repoKey = (owner: string, repo: string) => `${owner}/${repo}`.toLowerCase();
  const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const nodeId = (kind: string, id: number) => Buffer.from(`${kind}:${id}`).toString('base64');
  const stableId = (text: string) => createHash('sha1').update(text).digest().readUInt32BE(0);
  const fakeSha = (text: string) => createHash('sha1').update(text).digest('hex');
  const isSha = (ref: string) => /^[0-9a-f]{40}$/i.test(ref);

  const app = () => ({ id: Number(appId), slug: 'shipgate', name: 'Shipgate', owner: null });
  const account = (login: string) => ({
    login,
    id: stableId(`account:${login}`),
    node_id: nodeId('Organization', stableId(login)),
    type: 'Organization',
    site_admin: false,
  });
  const bot = { login: 'shipgate[bot]', id: 4242, type: 'Bot', site_admin: false };
  const repository = (owner: string, repo: string) => ({
    id: stableId(`repo:${repoKey(owner, repo)}`),
    node_id: nodeId('Repository', stableId(repoKey(owner, repo))),
    name: repo,
    full_name: `${owner}/${repo}`,
    owner: account(owner),
    private: true,
    html_url: `${GITHUB_HTML}/${owner}/${repo}`,
    url: `${baseUrl}/repos/${owner}/${repo}`,
    clone_url: `${GITHUB_HTML}/${owner}/${repo}.git`,
    default_branch: 'main',
  });
  const installationCovers = (inst: StandInInstallation, owner: string, repo: string) =>
    (inst.account === '*' || inst.account.toLowerCase() === owner.toLowerCase()) &&
    (inst.repositories === undefined || inst.repositories.includes(repo));
  const installationObject = (inst: StandInInstallation, login = inst.account) => ({
    id: inst.id,
    account: account(login === '*' ? 'stand-in' : login),
    repository_selection: inst.repositories ? 'selected' : 'all',
    access_tokens_url: `${baseUrl}/app/installations/${inst.id}/access_tokens`,
    repositories_url: `${baseUrl}/installation/repositories`,
    html_url: `${GITHUB_HTML}/settings/installations/${inst.id}`,
    app_id: Number(appId),
    app_slug: 'shipgate',
    target_id: stableId(`account:${login}`),
    target_type: 'Organization',
    permissions: PERMISSIONS,
    events: ['check_run', 'check_suite', 'create', 'pull_request', 'push'],
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:00:00Z',
    single_file_name: null,
    suspended_at: null,
  });
  const findInstallation = (id: number) => {
    const inst = installations.find((i) => i.id === id);
    if (!inst) throw new HttpError(404, 'Not Found');
    return inst;
  };

  // ── auth ────────────────────────────────────────────────────────────────
  function verifyAppJwt(headers: IncomingMessage['headers']): void {
    const match = /^bearer\s+(\S+)$/i.exec(headers.authorization ?? '');
    if (!match?.[1]) {
      throw new HttpError(401, 'A JSON web token could not be decoded');
    }
    const parts = match[1].split('.');
    if (parts.length !== 3) throw new HttpError(401, 'A JSON web token could not be decoded');
    const [h, p, s] = parts as [string, string, string];
    let header: Json;
    let claims: Json;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Json;
      claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Json;
    } catch {
      throw new HttpError(401, 'A JSON web token could not be decoded');
    }
    const signed = verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url'));
    if (header.alg !== 'RS256' || !signed) {
      throw new HttpError(401, 'A JSON web token could not be decoded');
    }
    if (String(claims.iss) !== appId) throw new HttpError(401, 'Integration not found');
    const nowS = Math.floor(Date.now() / 1000);
    const iat = Number(claims.iat);
    const exp = Number(claims.exp);
    if (!Number.isInteger(iat) || iat > nowS + 60) {
      throw new HttpError(
        401,
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
      );
    }
    if (!Number.isInteger(exp) || exp <= nowS) {
      throw new HttpError(
        401,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    }
    if (exp - iat > 600 + 60) {
      throw new HttpError(401, "'Expiration time' claim ('exp') is too far in the future");
    }
  }

  function verifyInstallationToken(ctx: Context): void {
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(ctx.headers.authorization ?? '');
    const record = match?.[1] ? tokens.get(match[1]) : undefined;
    if (!record || record.expiresAt <= Date.now()) throw new HttpError(401, 'Bad credentials');
    // GitHub answers 404, not 403, for repositories a token cannot see.
    const inst = installations.find((i) => i.id === record.installationId);
    if (
      !inst ||
      !installationCovers(inst, ctx.owner, ctx.repo) ||
      (record.repositories !== undefined && !record.repositories.includes(ctx.repo))
    ) {
      throw new HttpError(404, 'Not Found');
    }
  }

  // ── helpers ─────────────────────────────────────────────────────────────
  function paginate<T>(ctx: Context, items: T[]): Reply {
    const perPage = Math.min(Number(ctx.query.get('per_page') ?? 30) || 30, 100);
    const page = Math.max(Number(ctx.query.get('page') ?? 1) || 1, 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const headers: Record<string, string> = {};
    if (page * perPage < items.length) {
      const next = new URL(`${baseUrl}${ctx.pathname}`);
      ctx.query.forEach((v, k) => next.searchParams.set(k, v));
      next.searchParams.set('page', String(page + 1));
      headers.link = `<${next.href}>; rel="next"`;
    }
    return { status: 200, body: slice, headers };
  }

  function requireString(body: Json, field: string): string {
    const value = body[field];
    if (typeof value !== 'string' || value === '') {
      throw new HttpError(422, `Invalid request.\n\n"${field}" wasn't supplied.`);
    }
    return value;
  }

  function validateOutput(output: unknown): {
    title?: string;
    summary?: string;
    text?: string;
    annotations: StoredAnnotation[];
  } {
    if (typeof output !== 'object' || output === null)
      throw new HttpError(422, "Invalid request.\n\nFor 'properties/output', is not an object.");
    const o = output as Json;
    for (const field of ['title', 'summary'] as const) {
      if (typeof o[field] !== 'string')
        throw new HttpError(422, `Invalid request.\n\n"${field}" wasn't supplied.`);
    }
    for (const field of ['summary', 'text'] as const) {
      const value = o[field];
      if (typeof value === 'string' && [...value].length > OUTPUT_MAX) {
        throw new HttpError(422, 'Invalid request.', [
          {
            resource: 'CheckRun',
            field: `output.${field}`,
            code: 'custom',
            message: `output.${field} is too long (maximum is ${OUTPUT_MAX} characters)`,
          },
        ]);
      }
    }
    const list = o.annotations === undefined ? [] : o.annotations;
    if (!Array.isArray(list))
      throw new HttpError(422, "Invalid request.\n\nFor 'properties/annotations', is not an array.");
    if (list.length > 50) {
      throw new HttpError(
        422,
        'Invalid request.\n\nOnly 50 annotations can be created or updated per request.',
      );
    }
    const stored = list.map((raw: unknown, i): StoredAnnotation => {
      const a = (typeof raw === 'object' && raw !== null ? raw : {}) as Json;
      const bad = (why: string) => new HttpError(422, `Invalid request.\n\nannotations[${i}]: ${why}`);
      if (typeof a.path !== 'string' || a.path === '') throw bad('"path" wasn\'t supplied.');
      for (const f of ['start_line', 'end_line'] as const) {
        if (!Number.isInteger(a[f]) || (a[f] as number) < 1) throw bad(`"${f}" must be a positive integer.`);
      }
      if (!['notice', 'warning', 'failure'].includes(String(a.annotation_level))) {
        throw bad('"annotation_level" must be one of notice, warning, failure.');
      }
      if (typeof a.message !== 'string' || a.message === '') throw bad('"message" wasn\'t supplied.');
      if ((a.start_column !== undefined || a.end_column !== undefined) && a.start_line !== a.end_line) {
        throw bad('start_column and end_column may only be used when start_line equals end_line.');
      }
      return {
        path: a.path,
        start_line: a.start_line as number,
        end_line: a.end_line as number,
        start_column: (a.start_column as number | undefined) ?? null,
        end_column: (a.end_column as number | undefined) ?? null,
        annotation_level: String(a.annotation_level),
        title: typeof a.title === 'string' ? a.title : null,
        message: a.message,
        raw_details: typeof a.raw_details === 'string' ? a.raw_details : null,
        blob_href: `${GITHUB_HTML}/blob/${a.path}`,
      };
    });
    return {
      title: o.title as string,
      summary: o.summary as string,
      ...(typeof o.text === 'string' ? { text: o.text } : {}),
      annotations: stored,
    };
  }

  const CONCLUSIONS = [
    'success',
    'failure',
    'neutral',
    'cancelled',
    'timed_out',
    'action_required',
    'skipped',
    'stale',
  ];
  const CHECK_STATUSES = ['queued', 'in_progress', 'completed', 'waiting', 'requested', 'pending'];

  function applyCheckRunFields(run: Json & { id: number }, body: Json, creating: boolean): void {
    if (body.name !== undefined) run.name = String(body.name);
    if (body.details_url !== undefined) run.details_url = body.details_url;
    if (body.external_id !== undefined) run.external_id = String(body.external_id);
    if (body.started_at !== undefined) run.started_at = body.started_at;
    if (body.status !== undefined) {
      if (!CHECK_STATUSES.includes(String(body.status)))
        throw new HttpError(
          422,
          `Invalid request.\n\n"status" ${JSON.stringify(body.status)} is not a member of the enum.`,
        );
      run.status = body.status;
    }
    if (body.conclusion !== undefined) {
      if (!CONCLUSIONS.includes(String(body.conclusion)))
        throw new HttpError(
          422,
          `Invalid request.\n\n"conclusion" ${JSON.stringify(body.conclusion)} is not a member of the enum.`,
        );
      run.conclusion = body.conclusion;
      run.status = 'completed';
    }
    if (run.status === 'completed') {
      if (!run.conclusion)
        throw new HttpError(
          422,
          'Invalid request.\n\n"conclusion" is required when "status" is "completed".',
        );
      run.completed_at =
        (body.completed_at as string | undefined) ?? (run.completed_at as string | null) ?? now();
    }
    if (body.output !== undefined) {
      const output = validateOutput(body.output);
      const stored = annotations.get(run.id) ?? [];
      // GitHub appends annotations on every update; it never replaces them.
      stored.push(...output.annotations);
      annotations.set(run.id, stored);
      run.output = {
        title: output.title ?? null,
        summary: output.summary ?? null,
        text: output.text ?? (creating ? null : ((run.output as Json | undefined)?.text ?? null)),
        annotations_count: stored.length,
        annotations_url: `${baseUrl}/repos/${String(run.owner)}/${String(run.repo)}/check-runs/${run.id}/annotations`,
      };
    }
  }

  const publicCheckRun = (run: Json) => {
    const { owner: _o, repo: _r, ...rest } = run;
    return structuredClone(rest);
  };
  const publicObject = (obj: Json) => {
    const { owner: _o, repo: _r, ...rest } = obj;
    return structuredClone(rest);
  };

  function getRepoCheckRun(ctx: Context) {
    const run = checkRuns.get(Number(ctx.params.id));
    if (!run || repoKey(run.owner, run.repo) !== repoKey(ctx.owner, ctx.repo))
      throw new HttpError(404, 'Not Found');
    return run;
  }

  function getRepoDeployment(ctx: Context) {
    const deployment = deployments.get(Number(ctx.params.id));
    if (!deployment || repoKey(deployment.owner, deployment.repo) !== repoKey(ctx.owner, ctx.repo))
      throw new HttpError(404, 'Not Found');
    return deployment;
  }

  function getRepoPull(ctx: Context) {
    const pr = pulls.get(Number(ctx.params.number));
    if (!pr || repoKey(pr.owner, pr.repo) !== repoKey(ctx.owner, ctx.repo))
      throw new HttpError(404, 'Not Found');
    return pr;
  }

  const blobSha = (content: Buffer) =>
    createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');

  // ── routes ──────────────────────────────────────────────────────────────
  const R = '^/repos/(?<owner>[^/]+)/(?<repo>[^/]+)';
  const routes: Route[] = [
    // Git refs and tag objects, read from the repository hosted with `hostGitRepo`.
    {
      method: 'GET',
      // Octokit sends `{ref}` URL-encoded (`tags%2Fv1.2.3`); GitHub decodes it.
      pattern: new RegExp(`${R}/git/ref/(?<ref>.+)$`),
      auth: 'installation',
      handler: (ctx) => {
        const bare = gitRepos.get(repoKey(ctx.owner, ctx.repo));
        const ref = decodeURIComponent(String(ctx.params.ref));
        if (!ref.startsWith('tags/')) throw new HttpError(404, 'Not Found');
        const tag = ref.slice('tags/'.length);
        const line = bare
          ? execFileSync(
              'git',
              ['-C', bare, 'for-each-ref', `refs/tags/${tag}`, '--format=%(objectname) %(objecttype)'],
              {
                encoding: 'utf8',
              },
            ).trim()
          : '';
        if (!line) throw new HttpError(404, 'Not Found');
        const [sha, type] = line.split(' ');
        return {
          status: 200,
          body: {
            ref: `refs/tags/${tag}`,
            node_id: `REF_${sha}`,
            url: `${baseUrl}/repos/${ctx.owner}/${ctx.repo}/git/refs/tags/${tag}`,
            object: { sha, type, url: `${baseUrl}/repos/${ctx.owner}/${ctx.repo}/git/${type}s/${sha}` },
          },
        };
      },
    },
    // List repository tags, newest first (GitHub documents no order; its own is close to
    // newest first for release tags). `commit.sha` is the tagged commit, annotated tags peeled.
    {
      method: 'GET',
      pattern: new RegExp(`${R}/tags$`),
      auth: 'installation',
      handler: (ctx) => {
        const bare = gitRepos.get(repoKey(ctx.owner, ctx.repo));
        const lines = bare
          ? execFileSync(
              'git',
              [
                '-C',
                bare,
                'for-each-ref',
                'refs/tags',
                '--sort=-creatordate',
                '--format=%(refname:strip=2) %(objectname) %(*objectname)',
              ],
              { encoding: 'utf8' },
            )
              .split('\n')
              .filter(Boolean)
          : [];
        const repoUrl = `${baseUrl}/repos/${ctx.owner}/${ctx.repo}`;
        return paginate(
          ctx,
          lines.map((line) => {
            const [name, object, peeled] = line.split(' ');
            const sha = peeled || object!;
            return {
              name,
              commit: { sha, url: `${repoUrl}/commits/${sha}` },
              zipball_url: `${repoUrl}/zipball/refs/tags/${name}`,
              tarball_url: `${repoUrl}/tarball/refs/tags/${name}`,
              node_id: `TAG_${object}`,
            };
          }),
        );
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}/git/tags/(?<sha>[0-9a-f]{40})$`),
      auth: 'installation',
      handler: (ctx) => {
        const bare = gitRepos.get(repoKey(ctx.owner, ctx.repo));
        let raw = '';
        try {
          raw = bare
            ? execFileSync('git', ['-C', bare, 'cat-file', 'tag', String(ctx.params.sha)], {
                encoding: 'utf8',
              })
            : '';
        } catch {
          raw = '';
        }
        const object = /^object ([0-9a-f]{40})$/m.exec(raw)?.[1];
        const type = /^type (\w+)$/m.exec(raw)?.[1];
        const tag = /^tag (.+)$/m.exec(raw)?.[1];
        if (!object || !type) throw new HttpError(404, 'Not Found');
        return {
          status: 200,
          body: { sha: ctx.params.sha, node_id: `TAG_${ctx.params.sha}`, tag, object: { sha: object, type } },
        };
      },
    },
    // Compare two commits (`base...head`, tags or shas) of the hosted repository, in GitHub's
    // response shape: commits oldest first, each with author and committer dates (UTC, `Z`).
    {
      method: 'GET',
      pattern: new RegExp(`${R}/compare/(?<basehead>[^/]+)$`),
      auth: 'installation',
      handler: (ctx) => {
        const bare = gitRepos.get(repoKey(ctx.owner, ctx.repo));
        const [base, head] = decodeURIComponent(String(ctx.params.basehead)).split('...');
        if (!bare || !base || !head) throw new HttpError(404, 'Not Found');
        const git = (args: string[]) => {
          try {
            return execFileSync('git', ['-C', bare, ...args], { encoding: 'utf8' });
          } catch {
            throw new HttpError(404, 'Not Found');
          }
        };
        const resolve = (rev: string) => git(['rev-parse', '--verify', `${rev}^{commit}`]).trim();
        const baseSha = resolve(base);
        const headSha = resolve(head);
        const mergeBase = git(['merge-base', baseSha, headSha]).trim();
        const utc = (iso: string) => new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
        const commitJson = (sha: string) => {
          const [an, ae, ad, cn, ce, cd, tree, parents, ...message] = git([
            'show',
            '-s',
            '--format=%an%n%ae%n%aI%n%cn%n%ce%n%cI%n%T%n%P%n%B',
            sha,
          ]).split('\n');
          const url = `${baseUrl}/repos/${ctx.owner}/${ctx.repo}`;
          return {
            sha,
            node_id: `C_${sha}`,
            commit: {
              author: { name: an, email: ae, date: utc(ad!) },
              committer: { name: cn, email: ce, date: utc(cd!) },
              message: message.join('\n').trim(),
              tree: { sha: tree, url: `${url}/git/trees/${tree}` },
              url: `${url}/git/commits/${sha}`,
              comment_count: 0,
              verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
            },
            url: `${url}/commits/${sha}`,
            html_url: `${GITHUB_HTML}/${ctx.owner}/${ctx.repo}/commit/${sha}`,
            comments_url: `${url}/commits/${sha}/comments`,
            author: null,
            committer: null,
            parents: (parents ?? '')
              .split(' ')
              .filter(Boolean)
              .map((p) => ({
                sha: p,
                url: `${url}/commits/${p}`,
                html_url: `${GITHUB_HTML}/${ctx.owner}/${ctx.repo}/commit/${p}`,
              })),
          };
        };
        const ahead = git(['rev-list', '--reverse', `${baseSha}..${headSha}`])
          .split('\n')
          .filter(Boolean);
        const behind = git(['rev-list', `${headSha}..${baseSha}`])
          .split('\n')
          .filter(Boolean);
        const status =
          ahead.length === 0 && behind.length === 0
            ? 'identical'
            : behind.length === 0
              ? 'ahead'
              : ahead.length === 0
                ? 'behind'
                : 'diverged';
        const html = `${GITHUB_HTML}/${ctx.owner}/${ctx.repo}`;
        return {
          status: 200,
          body: {
            url: `${baseUrl}/repos/${ctx.owner}/${ctx.repo}/compare/${base}...${head}`,
            html_url: `${html}/compare/${base}...${head}`,
            permalink_url: `${html}/compare/${ctx.owner}:${baseSha.slice(0, 7)}...${ctx.owner}:${headSha.slice(0, 7)}`,
            diff_url: `${html}/compare/${base}...${head}.diff`,
            patch_url: `${html}/compare/${base}...${head}.patch`,
            base_commit: commitJson(baseSha),
            merge_base_commit: commitJson(mergeBase),
            status,
            ahead_by: ahead.length,
            behind_by: behind.length,
            total_commits: ahead.length,
            // GitHub lists at most 250 commits here (the rest through pagination).
            commits: ahead.slice(0, 250).map(commitJson),
            files: [],
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/app$/,
      auth: 'app',
      handler: () => ({
        status: 200,
        body: { ...app(), html_url: `${GITHUB_HTML}/apps/shipgate`, permissions: PERMISSIONS, events: [] },
      }),
    },
    {
      method: 'GET',
      pattern: /^\/app\/installations\/(?<id>\d+)$/,
      auth: 'app',
      handler: (ctx) => ({ status: 200, body: installationObject(findInstallation(Number(ctx.params.id))) }),
    },
    {
      method: 'POST',
      pattern: /^\/app\/installations\/(?<id>\d+)\/access_tokens$/,
      auth: 'app',
      handler: (ctx) => {
        const inst = findInstallation(Number(ctx.params.id));
        const wanted = ctx.body.repositories;
        if (wanted !== undefined && (!Array.isArray(wanted) || wanted.some((r) => typeof r !== 'string'))) {
          throw new HttpError(
            422,
            "Invalid request.\n\nFor 'properties/repositories', is not an array of strings.",
          );
        }
        const names = wanted as string[] | undefined;
        if (names && inst.repositories && names.some((n) => !inst.repositories?.includes(n))) {
          throw new HttpError(
            422,
            'There is at least one repository that does not exist or is not accessible to the parent installation.',
          );
        }
        const token = `ghs_${randomBytes(27).toString('base64url').replace(/[-_]/g, 'x').slice(0, 36)}`;
        const expiresAt = Date.now() + tokenTtlMs;
        tokens.set(token, { installationId: inst.id, expiresAt, repositories: names });
        tokensIssued++;
        const owner = inst.account === '*' ? 'stand-in' : inst.account;
        return {
          status: 201,
          body: {
            token,
            expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
            permissions: PERMISSIONS,
            repository_selection: names || inst.repositories ? 'selected' : 'all',
            ...(names ? { repositories: names.map((n) => repository(owner, n)) } : {}),
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}/installation$`),
      auth: 'app',
      handler: (ctx) => {
        const inst = installations.find((i) => installationCovers(i, ctx.owner, ctx.repo));
        if (!inst) throw new HttpError(404, 'Not Found');
        return { status: 200, body: installationObject(inst, ctx.owner) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}$`),
      auth: 'installation',
      handler: (ctx) => ({ status: 200, body: repository(ctx.owner, ctx.repo) }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}/contents(?:/(?<path>.*))?$`),
      auth: 'installation',
      handler: (ctx) => {
        const ref = ctx.query.get('ref') ?? 'main';
        const path = (ctx.params.path ?? '').replace(/\/+$/, '');
        const tree = files.get(`${repoKey(ctx.owner, ctx.repo)}@${ref}`) ?? new Map<string, Buffer>();
        const links = (p: string, type: string) => ({
          url: `${baseUrl}/repos/${ctx.owner}/${ctx.repo}/contents/${p}?ref=${encodeURIComponent(ref)}`,
          html_url: `${GITHUB_HTML}/${ctx.owner}/${ctx.repo}/${type === 'dir' ? 'tree' : 'blob'}/${ref}/${p}`,
        });
        const content = tree.get(path);
        if (content) {
          const raw = /application\/vnd\.github(?:\.v3)?\.raw/.test(String(ctx.headers.accept));
          if (raw)
            return { status: 200, body: content, headers: { 'content-type': 'application/vnd.github.raw' } };
          const big = content.length > ONE_MB;
          const sha = blobSha(content);
          return {
            status: 200,
            body: {
              type: 'file',
              // Over 1 MB GitHub leaves content empty and asks for the raw media type.
              encoding: big ? 'none' : 'base64',
              size: content.length,
              name: path.split('/').pop(),
              path,
              // GitHub wraps base64 at 60 characters.
              content: big ? '' : (content.toString('base64').match(/.{1,60}/g) ?? []).join('\n') + '\n',
              sha,
              ...links(path, 'file'),
              git_url: `${baseUrl}/repos/${ctx.owner}/${ctx.repo}/git/blobs/${sha}`,
              download_url: `${GITHUB_HTML}/raw/${ctx.owner}/${ctx.repo}/${ref}/${path}`,
            },
          };
        }
        const prefix = path === '' ? '' : `${path}/`;
        const children = new Map<string, { type: string; size: number; sha: string }>();
        for (const [p, c] of tree) {
          if (!p.startsWith(prefix)) continue;
          const [first, ...rest] = p.slice(prefix.length).split('/');
          if (!first) continue;
          children.set(
            first,
            rest.length > 0
              ? { type: 'dir', size: 0, sha: fakeSha(prefix + first) }
              : { type: 'file', size: c.length, sha: blobSha(c) },
          );
        }
        if (children.size === 0) throw new HttpError(404, 'Not Found');
        return {
          status: 200,
          body: [...children].map(([name, info]) => ({
            name,
            path: prefix + name,
            ...info,
            ...links(prefix + name, info.type),
          })),
        };
      },
    },
    // ── check runs
    {
      method: 'POST',
      pattern: new RegExp(`${R}/check-runs$`),
      auth: 'installation',
      handler: (ctx) => {
        const name = requireString(ctx.body, 'name');
        const headSha = requireString(ctx.body, 'head_sha');
        const id = newId();
        const run: Json & { id: number; owner: string; repo: string } = {
          id,
          node_id: nodeId('CheckRun', id),
          head_sha: headSha,
          external_id: '',
          url: `${baseUrl}/repos/${ctx.owner}/${ctx.repo}/check-runs/${id}`,
          html_url: `${GITHUB_HTML}/${ctx.owner}/${ctx.repo}/runs/${id}`,
          details_url: null,
          status: 'queued',
          conclusion: null,
          started_at: now(),
          completed_at: null,
          output: {
            title: null,
            summary: null,
            text: null,
            annotations_count: 0,
            annotations_url: `${baseUrl}/repos/${ctx.owner}/${ctx.repo}/check-runs/${id}/annotations`,
          },
          name,
          check_suite: { id: stableId(`suite:${ctx.owner}/${ctx.repo}@${headSha}`) },
          app: app(),
          pull_requests: [],
          owner: ctx.owner,
          repo: ctx.repo,
        };
        applyCheckRunFields(run, ctx.body, true);
        checkRuns.set(id, run);
        return { status: 201, body: publicCheckRun(run) };
      },
    },
    {
      method: 'PATCH',
      pattern: new RegExp(`${R}/check-runs/(?<id>\\d+)$`),
      auth: 'installation',
      handler: (ctx) => {
        const run = getRepoCheckRun(ctx);
        // Validate on a copy so a refused update changes nothing, as on GitHub.
        const draft = structuredClone(run);
        const draftAnnotations = structuredClone(annotations.get(run.id) ?? []);
        try {
          applyCheckRunFields(run, ctx.body, false);
        } catch (err) {
          Object.assign(run, draft);
          annotations.set(run.id, draftAnnotations);
          throw err;
        }
        return { status: 200, body: publicCheckRun(run) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}/check-runs/(?<id>\\d+)$`),
      auth: 'installation',
      handler: (ctx) => ({ status: 200, body: publicCheckRun(getRepoCheckRun(ctx)) }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}/check-runs/(?<id>\\d+)/annotations$`),
      auth: 'installation',
      handler: (ctx) => paginate(ctx, structuredClone(annotations.get(getRepoCheckRun(ctx).id) ?? [])),
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}/commits/(?<ref>[^/]+)/check-runs$`),
      auth: 'installation',
      handler: (ctx) => {
        const name = ctx.query.get('check_name');
        const status = ctx.query.get('status');
        const filter = ctx.query.get('filter') ?? 'latest';
        let runs = [...checkRuns.values()]
          .filter(
            (r) => repoKey(r.owner, r.repo) === repoKey(ctx.owner, ctx.repo) && r.head_sha === ctx.params.ref,
          )
          .filter((r) => (name ? r.name === name : true))
          .filter((r) => (status ? r.status === status : true))
          .sort((a, b) => b.id - a.id);
        if (filter === 'latest') {
          const seen = new Set<unknown>();
          runs = runs.filter((r) => (seen.has(r.name) ? false : (seen.add(r.name), true)));
        }
        const page = paginate(ctx, runs.map(publicCheckRun));
        return { ...page, body: { total_count: runs.length, check_runs: page.body } };
      },
    },
    // ── deployments
    {
      method: 'POST',
      pattern: new RegExp(`${R}/deployments$`),
      auth: 'installation',
      handler: (ctx) => {
        const ref = requireString(ctx.body, 'ref');
        const id = newId();
        const environment = typeof ctx.body.environment === 'string' ? ctx.body.environment : 'production';
        const deployment = {
          url: `${baseUrl}/repos/${ctx.owner}/${ctx.repo}/deployments/${id}`,
          id,
          node_id: nodeId('Deployment', id),
          sha: isSha(ref) ? ref.toLowerCase() : fakeSha(`ref:${ref}`),
          ref,
          task: typeof ctx.body.task === 'string' ? ctx.body.task : 'deploy',
          payload: ctx.body.payload ?? {},
          original_environment: environment,
          environment,
          description: typeof ctx.body.description === 'string' ? ctx.body.description : null,
          creator: bot,
          created_at: now(),
          updated_at: now(),
          statuses_url: `${baseUrl}/repos/${ctx.owner}/${ctx.repo}/deployments/${id}/statuses`,
          repository_url: `${baseUrl}/repos/${ctx.owner}/${ctx.repo}`,
          transient_environment: ctx.body.transient_environment === true,
          production_environment:
            typeof ctx.body.production_environment === 'boolean'
              ? ctx.body.production_environment
              : environment === 'production',
          performed_via_github_app: app(),
          owner: ctx.owner,
          repo: ctx.repo,
        };
        deployments.set(id, deployment);
        statuses.set(id, []);
        return { status: 201, body: publicObject(deployment) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}/deployments$`),
      auth: 'installation',
      handler: (ctx) => {
        const q = (k: string) => ctx.query.get(k);
        const list = [...deployments.values()]
          .filter((d) => repoKey(d.owner, d.repo) === repoKey(ctx.owner, ctx.repo))
          .filter((d) => (q('sha') ? d.sha === q('sha') : true))
          .filter((d) => (q('ref') ? d.ref === q('ref') : true))
          .filter((d) => (q('task') ? d.task === q('task') : true))
          .filter((d) => (q('environment') ? d.environment === q('environment') : true))
          .sort((a, b) => b.id - a.id)
          .map(publicObject);
        return paginate(ctx, list);
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}/deployments/(?<id>\\d+)$`),
      auth: 'installation',
      handler: (ctx) => ({ status: 200, body: publicObject(getRepoDeployment(ctx)) }),
    },
    {
      method: 'POST',
      pattern: new RegExp(`${R}/deployments/(?<id>\\d+)/statuses$`),
      auth: 'installation',
      handler: (ctx) => {
        const deployment = getRepoDeployment(ctx);
        const state = String(ctx.body.state);
        if (
          !['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'].includes(state)
        ) {
          throw new HttpError(
            422,
            `Invalid request.\n\n"state" ${JSON.stringify(ctx.body.state)} is not a member of the enum.`,
          );
        }
        const description = typeof ctx.body.description === 'string' ? ctx.body.description : '';
        if (description.length > 140) {
          throw new HttpError(422, 'Validation Failed', [
            {
              resource: 'DeploymentStatus',
              code: 'custom',
              field: 'description',
              message: 'description is too long (maximum is 140 characters)',
            },
          ]);
        }
        if (typeof ctx.body.environment === 'string') deployment.environment = ctx.body.environment;
        const status = addStatus(deployment, state, description, ctx.body);
        // auto_inactive (default true): earlier successful, non-transient, non-production
        // deployments to the same environment of the same repository become inactive.
        if (state === 'success' && ctx.body.auto_inactive !== false) {
          for (const other of deployments.values()) {
            if (
              other.id === deployment.id ||
              repoKey(other.owner, other.repo) !== repoKey(deployment.owner, deployment.repo) ||
              other.environment !== deployment.environment ||
              other.transient_environment === true ||
              other.production_environment === true
            ) {
              continue;
            }
            const latest = statuses.get(other.id)?.[0];
            if (latest?.state === 'success')
              addStatus(other, 'inactive', 'Superseded by a newer deployment', {});
          }
        }
        return { status: 201, body: structuredClone(status) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}/deployments/(?<id>\\d+)/statuses$`),
      auth: 'installation',
      handler: (ctx) => paginate(ctx, structuredClone(statuses.get(getRepoDeployment(ctx).id) ?? [])),
    },
    // ── pulls
    {
      method: 'POST',
      pattern: new RegExp(`${R}/pulls$`),
      auth: 'installation',
      handler: (ctx) => {
        const head = requireString(ctx.body, 'head');
        const base = requireString(ctx.body, 'base');
        const title = requireString(ctx.body, 'title');
        const [headOwner, headRef] = head.includes(':')
          ? (head.split(':', 2) as [string, string])
          : [ctx.owner, head];
        const duplicate = [...pulls.values()].find(
          (p) =>
            repoKey(p.owner, p.repo) === repoKey(ctx.owner, ctx.repo) &&
            p.state === 'open' &&
            (p.head as Json).label === `${headOwner}:${headRef}` &&
            (p.base as Json).ref === base,
        );
        if (duplicate) {
          throw new HttpError(422, 'Validation Failed', [
            {
              resource: 'PullRequest',
              code: 'custom',
              message: `A pull request already exists for ${headOwner}:${headRef}.`,
            },
          ]);
        }
        const number = newId();
        const pr = {
          url: `${baseUrl}/repos/${ctx.owner}/${ctx.repo}/pulls/${number}`,
          id: stableId(`pr:${number}`),
          node_id: nodeId('PullRequest', number),
          html_url: `${GITHUB_HTML}/${ctx.owner}/${ctx.repo}/pull/${number}`,
          number,
          state: 'open',
          locked: false,
          title,
          body: typeof ctx.body.body === 'string' ? ctx.body.body : null,
          user: bot,
          created_at: now(),
          updated_at: now(),
          closed_at: null,
          merged_at: null,
          merge_commit_sha: fakeSha(`test-merge:${number}`),
          draft: ctx.body.draft === true,
          head: {
            label: `${headOwner}:${headRef}`,
            ref: headRef,
            sha: fakeSha(`head:${headOwner}:${headRef}:${number}`),
            user: account(headOwner),
            repo: repository(headOwner, ctx.repo),
          },
          base: {
            label: `${ctx.owner}:${base}`,
            ref: base,
            sha: fakeSha(`base:${base}:${number}`),
            user: account(ctx.owner),
            repo: repository(ctx.owner, ctx.repo),
          },
          merged: false,
          mergeable: null,
          merged_by: null,
          maintainer_can_modify: ctx.body.maintainer_can_modify === true,
          owner: ctx.owner,
          repo: ctx.repo,
        };
        pulls.set(number, pr);
        return { status: 201, body: publicObject(pr) };
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}/pulls/(?<number>\\d+)$`),
      auth: 'installation',
      handler: (ctx) => ({ status: 200, body: publicObject(getRepoPull(ctx)) }),
    },
    {
      method: 'GET',
      pattern: new RegExp(`${R}/pulls$`),
      auth: 'installation',
      handler: (ctx) => {
        const state = ctx.query.get('state') ?? 'open';
        const head = ctx.query.get('head');
        const base = ctx.query.get('base');
        const list = [...pulls.values()]
          .filter((p) => repoKey(p.owner, p.repo) === repoKey(ctx.owner, ctx.repo))
          .filter((p) => state === 'all' || p.state === state)
          .filter((p) => (head ? (p.head as Json).label === head : true))
          .filter((p) => (base ? (p.base as Json).ref === base : true))
          .sort((a, b) => b.number - a.number)
          // List items are "pull request simple": no merged/mergeable fields.
          .map((p) => {
            const { merged: _m, mergeable: _mb, merged_by: _by, ...simple } = publicObject(p);
            return simple;
          });
        return paginate(ctx, list);
      },
    },
  ];

  function addStatus(
    deployment: Json & { id: number; owner: string; repo: string },
    state: string,
    description: string,
    body: Json,
  ) {
    const id = newId();
    const status = {
      url: `${baseUrl}/repos/${deployment.owner}/${deployment.repo}/deployments/${deployment.id}/statuses/${id}`,
      id,
      node_id: nodeId('DeploymentStatus', id),
      state,
      creator: bot,
      description,
      environment: deployment.environment,
      target_url:
        typeof body.target_url === 'string'
          ? body.target_url
          : typeof body.log_url === 'string'
            ? body.log_url
            : '',
      log_url:
        typeof body.log_url === 'string'
          ? body.log_url
          : typeof body.target_url === 'string'
            ? body.target_url
            : '',
      environment_url: typeof body.environment_url === 'string' ? body.environment_url : '',
      created_at: now(),
      updated_at: now(),
      deployment_url: `${baseUrl}/repos/${deployment.owner}/${deployment.repo}/deployments/${deployment.id}`,
      repository_url: `${baseUrl}/repos/${deployment.owner}/${deployment.repo}`,
      performed_via_github_app: app(),
    };
    const list = statuses.get(deployment.id) ?? [];
    list.unshift(status);
    statuses.set(deployment.id, list);
    deployment.updated_at = now();
    return status;
  }

  // ── server ──────────────────────────────────────────────────────────────
  function send(res: ServerResponse, record: RecordedRequest, reply: Reply): void {
    record.status = reply.status;
    const headers: Record<string, string> = {
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      'x-github-media-type': 'github.v3; format=json',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': '4999',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      ...reply.headers,
    };
    let payload: Buffer;
    if (Buffer.isBuffer(reply.body)) {
      payload = reply.body;
    } else if (typeof reply.body === 'string') {
      payload = Buffer.from(reply.body);
      headers['content-type'] ??= 'text/html; charset=utf-8';
    } else {
      payload = Buffer.from(JSON.stringify(reply.body));
      headers['content-type'] ??= 'application/json; charset=utf-8';
    }
    res.writeHead(reply.status, { ...headers, 'content-length': String(payload.length) });
    res.end(payload);
  }

  function errorReply(err: HttpError): Reply {
    return {
      status: err.status,
      body: {
        message: err.message,
        ...(err.errors ? { errors: err.errors } : {}),
        documentation_url: DOCS,
        status: String(err.status),
      },
    };
  }

  async function readBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 25 * ONE_MB) throw new HttpError(413, 'Payload too large');
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  const gitRepos = new Map<string, string>();

  const oauth = createOAuthStandIn();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const method = (req.method ?? 'GET').toUpperCase();
    if (await oauth.handle(req, res, url)) {
      requests.push({ method, path: url.pathname, headers: {}, body: undefined, at: Date.now() });
      return;
    }
    const git = /^\/([^/]+)\/([^/]+)\.git(\/.*)$/.exec(url.pathname);
    const hosted = git ? gitRepos.get(repoKey(git[1]!, git[2]!)) : undefined;
    if (git && hosted) {
      const gitRecord: RecordedRequest = {
        method,
        path: url.pathname,
        headers: {},
        body: undefined,
        at: Date.now(),
      };
      requests.push(gitRecord);
      res.once('finish', () => (gitRecord.doneAt = Date.now()));
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
      const [user, token] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':') : [];
      if (user !== 'x-access-token' || !token || !isTokenValid(token, git[1]!, git[2]!)) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="GitHub"' });
        res.end('Invalid username or token.\n');
        return;
      }
      runGitHttpBackend(req, res, path.dirname(hosted), `/${path.basename(hosted)}${git[3]}`);
      return;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined) continue;
      headers[k] = k === 'authorization' ? `${String(v).split(/\s+/)[0]} [redacted]` : String(v);
    }
    const record: RecordedRequest = {
      method,
      path: url.pathname + url.search,
      headers,
      body: undefined,
      at: Date.now(),
    };
    requests.push(record);
    res.once('finish', () => (record.doneAt = Date.now()));

    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (err) {
      send(res, record, errorReply(err instanceof HttpError ? err : new HttpError(400, 'Bad request')));
      return;
    }
    let body: Json = {};
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8')) as Json;
        record.body = body;
      } catch {
        send(res, record, errorReply(new HttpError(400, 'Problems parsing JSON')));
        return;
      }
    }

    let fault = faults.find(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method.toUpperCase() === method) &&
        f.path.test(url.pathname) &&
        (!f.body_matches || f.body_matches(body)),
    );
    if (fault) {
      fault.remaining--;
      if (fault.hang) {
        hung.push(res);
        return;
      }
      if (fault.delayMs !== undefined) {
        await new Promise((resolve) => setTimeout(resolve, fault?.delayMs));
        // A slow answer, not a failed one, unless a status was asked for as well.
        if (fault.status === undefined) fault = undefined;
      }
    }
    const faultReply = (f: FaultRule): Reply => {
      const status = f.status ?? 502;
      return {
        status,
        body: f.body ?? { message: status >= 500 ? 'Server Error' : 'Error', documentation_url: DOCS },
        ...(f.headers ? { headers: f.headers } : {}),
      };
    };
    if (fault && !fault.afterHandling) {
      send(res, record, faultReply(fault));
      return;
    }

    let reply: Reply;
    try {
      reply = route(method, url, req.headers, body);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      reply = errorReply(err);
    }
    send(res, record, fault ? faultReply(fault) : reply);
  }

  function route(method: string, url: URL, headers: IncomingMessage['headers'], body: Json): Reply {
    let pathMatched = false;
    for (const r of routes) {
      const match = r.pattern.exec(url.pathname);
      if (!match) continue;
      pathMatched = true;
      if (r.method !== method) continue;
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(match.groups ?? {})) {
        if (v !== undefined) params[k] = decodeURIComponent(v);
      }
      const ctx: Context = {
        method,
        pathname: url.pathname,
        query: url.searchParams,
        headers,
        body,
        params,
        owner: params.owner ?? '',
        repo: params.repo ?? '',
      };
      if (r.auth === 'app') verifyAppJwt(headers);
      else verifyInstallationToken(ctx);
      return r.handler(ctx);
    }
    throw new HttpError(pathMatched ? 405 : 404, pathMatched ? 'Method Not Allowed' : 'Not Found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: `stand-in bug: ${String(err)}` }));
      }
    });
  });
  baseUrl = await listenOnFreePort(server);

  const list = <T extends Json & { owner: string; repo: string }>(
    items: Iterable<T>,
    owner: string,
    repo: string,
  ) => [...items].filter((x) => repoKey(x.owner, x.repo) === repoKey(owner, repo));

  function findPull(number: number) {
    const pr = pulls.get(number);
    if (!pr) throw new Error(`stand-in: no pull request #${number}`);
    return pr;
  }

  return {
    url: baseUrl,
    requests,
    setFile(owner, repo, ref, path, content) {
      const key = `${repoKey(owner, repo)}@${ref}`;
      const tree = files.get(key) ?? new Map<string, Buffer>();
      tree.set(path.replace(/^\/+/, ''), Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'));
      files.set(key, tree);
    },
    checkRuns: (owner, repo) =>
      list(checkRuns.values(), owner, repo)
        .sort((a, b) => a.id - b.id)
        .map((run) => ({
          ...publicCheckRun(run),
          id: run.id,
          annotations: structuredClone(annotations.get(run.id) ?? []),
        })),
    deployments: (owner, repo) =>
      list(deployments.values(), owner, repo)
        .sort((a, b) => a.id - b.id)
        .map((d) => ({ ...publicObject(d), id: d.id })),
    deploymentStatuses: (id) => structuredClone(statuses.get(id) ?? []),
    pullRequests: (owner, repo) =>
      list(pulls.values(), owner, repo)
        .sort((a, b) => a.number - b.number)
        .map((p) => ({ ...publicObject(p), number: p.number })),
    mergePullRequest(number, { mergeCommitSha } = {}) {
      const pr = findPull(number);
      if (pr.state !== 'open') throw new Error(`stand-in: pull request #${number} is not open`);
      Object.assign(pr, {
        state: 'closed',
        merged: true,
        merged_at: now(),
        closed_at: now(),
        updated_at: now(),
        merge_commit_sha: mergeCommitSha ?? fakeSha(`merge:${number}`),
        merged_by: bot,
      });
    },
    closePullRequest(number) {
      Object.assign(findPull(number), { state: 'closed', closed_at: now(), updated_at: now() });
    },
    failNext(rule) {
      faults.push({ ...rule, remaining: rule.times ?? 1 });
    },
    get tokensIssued() {
      return tokensIssued;
    },
    isTokenValidFor: (token, owner, repo) => isTokenValid(token, owner, repo),
    hostGitRepo(owner, repo, bareDir) {
      gitRepos.set(repoKey(owner, repo), bareDir);
    },
    oauth,
    revokeTokens() {
      tokens.clear();
    },
    async close() {
      for (const res of hung.splice(0)) res.destroy();
      await closeServer(server);
    },
  };

  function isTokenValid(token: string, owner: string, repo: string): boolean {
    const record = tokens.get(token);
    if (!record || record.expiresAt <= Date.now()) return false;
    const inst = installations.find((i) => i.id === record.installationId);
    return Boolean(
      inst &&
      installationCovers(inst, owner, repo) &&
      (record.repositories === undefined || record.repositories.includes(repo)),
    );
  }
}
