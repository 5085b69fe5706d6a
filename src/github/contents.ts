import type { Octokit } from '@octokit/core';
import { z } from 'zod';
import { GithubFileTooLarge, GithubFileUnreadable, GithubNotFound } from '../errors.js';
import { callGithub, parseGithubResponse } from './github-error.js';
import { correlation, type RepoTarget } from './repo-target.js';
import { ContentEntrySchema, ContentFileSchema } from './schema.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A UTF-8 text file from a repository at `ref`, or null when it does not exist there.
 * Sizes are checked against `maxBytes` from the metadata before any content is decoded.
 * GitHub inlines base64 content only up to 1 MB; bigger files come back with
 * `encoding: "none"` and are fetched again with the raw media type.
 */
export async function readRepoFile(
  octokit: Octokit,
  target: RepoTarget & { path: string; ref: string; maxBytes: number },
): Promise<string | null> {
  const { owner, repo, path, ref, maxBytes, deliveryId } = target;
  const op = 'GET /repos/{owner}/{repo}/contents/{path}';
  let data: unknown;
  try {
    ({ data } = await callGithub(op, () =>
      octokit.request(op, { owner, repo, path, ref, ...correlation(deliveryId) }),
    ));
  } catch (err) {
    if (GithubNotFound.is(err)) return null;
    throw err;
  }

  if (Array.isArray(data)) throw GithubFileUnreadable(path, 'it is a directory');
  const entry = parseGithubResponse(op, ContentEntrySchema, data);
  // A symlink to a file is resolved by GitHub; what is left (dangling or directory
  // symlinks, submodules) is not a file we can read.
  if (entry.type !== 'file') throw GithubFileUnreadable(path, `it is a ${entry.type}`);
  const file = parseGithubResponse(op, ContentFileSchema, data);
  if (file.size > maxBytes) throw GithubFileTooLarge(path, file.size, maxBytes);

  let bytes: Uint8Array;
  if (file.encoding === 'base64' && file.content !== undefined) {
    bytes = Buffer.from(file.content, 'base64');
  } else {
    const { data: raw } = await callGithub(`${op} (raw)`, () =>
      octokit.request(op, {
        owner,
        repo,
        path,
        ref,
        mediaType: { format: 'raw' },
        ...correlation(deliveryId),
      }),
    );
    bytes = toBytes(parseGithubResponse(`${op} (raw)`, RawSchema, raw));
  }
  if (bytes.byteLength > maxBytes) throw GithubFileTooLarge(path, bytes.byteLength, maxBytes);
  try {
    return utf8.decode(bytes);
  } catch {
    throw GithubFileUnreadable(path, 'it is not valid UTF-8 text');
  }
}

// @octokit/request hands back text for text/* or charset=utf-8 answers, bytes otherwise.
const RawSchema = z.union([z.string(), z.instanceof(ArrayBuffer)]);

function toBytes(raw: string | ArrayBuffer): Uint8Array {
  return typeof raw === 'string' ? Buffer.from(raw, 'utf8') : new Uint8Array(raw);
}
