/**
 * Real git remotes for tests: a bare repository on disk (file:// URL) built from a list of
 * commits, and the same repository served over loopback HTTP by `git http-backend` (smart
 * HTTP) behind Basic auth, so tests can prove the askpass token path end to end.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { closeServer, listenOnFreePort } from './listen.js';

export interface FixtureFile {
  content: string;
  executable?: boolean;
}
/** One commit: paths → content (cumulative: files of earlier commits stay unless replaced). */
export type FixtureCommit = Record<string, string | FixtureFile>;

export interface GitRemote {
  /** The bare repository directory. */
  bareDir: string;
  /** `file://…/repo.git` */
  fileUrl: string;
  /** One sha per commit, in order. */
  shas: string[];
  cleanup(): void;
}

const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.test',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.test',
};

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

export function createGitRemote(commits: FixtureCommit[]): GitRemote {
  const root = mkdtempSync(path.join(tmpdir(), 'shipgate-remote-'));
  const work = path.join(root, 'work');
  const bareDir = path.join(root, 'repo.git');
  mkdirSync(work);
  git(work, ['init', '-q', '-b', 'main', '.']);
  const shas: string[] = [];
  commits.forEach((files, i) => {
    for (const [file, spec] of Object.entries(files)) {
      const { content, executable } = typeof spec === 'string' ? { content: spec, executable: false } : spec;
      const full = path.join(work, file);
      mkdirSync(path.dirname(full), { recursive: true });
      writeFileSync(full, content);
      chmodSync(full, executable ? 0o755 : 0o644);
    }
    git(work, ['add', '-A']);
    git(work, ['commit', '-q', '--allow-empty', '-m', `commit ${i + 1}`]);
    shas.push(git(work, ['rev-parse', 'HEAD']));
  });
  git(root, ['clone', '-q', '--bare', work, bareDir]);
  return {
    bareDir,
    fileUrl: pathToFileURL(bareDir).href,
    shas,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

export interface GitHttpRequest {
  method: string;
  url: string;
  authorization: string | undefined;
}

export interface GitHttpServer {
  /** The clone URL (no credentials in it). */
  cloneUrl: string;
  requests: GitHttpRequest[];
  close(): Promise<void>;
}

/**
 * Serves `bareDir` with `git http-backend` (CGI) at `<url>/repo.git`. Every request must carry
 * Basic auth `x-access-token:<token>`, as GitHub expects for installation tokens.
 */
export async function serveGitOverHttp(bareDir: string, token: string): Promise<GitHttpServer> {
  const requests: GitHttpRequest[] = [];
  const expected = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  const projectRoot = path.dirname(bareDir);
  const repoName = path.basename(bareDir);

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://git.test');
    requests.push({
      method: req.method ?? 'GET',
      url: req.url ?? '',
      authorization: req.headers.authorization,
    });
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
      res.end('authentication required\n');
      return;
    }
    runGitHttpBackend(req, res, projectRoot, url.pathname);
  };

  const server = createServer(handle);
  const base = await listenOnFreePort(server);
  return {
    cloneUrl: `${base}/${repoName}`,
    requests,
    close: () => closeServer(server),
  };
}

/**
 * Answers one smart-HTTP git request with `git http-backend` (CGI) for the repositories under
 * `projectRoot`; `pathInfo` is the request path below that root (`/repo.git/info/refs`).
 */
export function runGitHttpBackend(
  req: IncomingMessage,
  res: ServerResponse,
  projectRoot: string,
  pathInfo: string,
): void {
  const url = new URL(req.url ?? '/', 'http://git.test');
  const cgi = spawn('git', ['http-backend'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: pathInfo,
      REQUEST_METHOD: req.method ?? 'GET',
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_USER: 'x-access-token',
      REMOTE_ADDR: '127.0.0.1',
      GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
      HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  req.pipe(cgi.stdin);
  let head = Buffer.alloc(0);
  let headersDone = false;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const sep = head.indexOf('\r\n\r\n') >= 0 ? head.indexOf('\r\n\r\n') : head.indexOf('\n\n');
    if (sep < 0) return;
    const sepLength = head[sep] === 13 ? 4 : 2;
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of head.subarray(0, sep).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim();
      const value = line.slice(colon + 1).trim();
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    headersDone = true;
    res.writeHead(status, headers);
    res.write(head.subarray(sep + sepLength));
  });
  cgi.on('close', () => res.end());
}
