import { constants } from 'node:fs';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';

export type ReportRead = { text: string } | { text: undefined; problem?: string };

/**
 * Reads a report the command left in `root`, refusing to follow a symlink out of the working
 * directory (a hostile repo could point `junit.xml` at a worker secret) and refusing files
 * larger than `maxBytes` before reading them.
 */
export async function readReportFile(root: string, relative: string, maxBytes: number): Promise<ReportRead> {
  const full = path.resolve(root, relative);
  let realRoot: string;
  let realParent: string;
  try {
    realRoot = await realpath(root);
    realParent = await realpath(path.dirname(full));
  } catch {
    return { text: undefined };
  }
  if (realParent !== realRoot && !realParent.startsWith(`${realRoot}${path.sep}`)) {
    return { text: undefined, problem: `${relative} resolves outside the working directory` };
  }
  let handle;
  try {
    handle = await open(
      path.join(realParent, path.basename(full)),
      constants.O_RDONLY | constants.O_NOFOLLOW,
    );
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { text: undefined };
    if (code === 'ELOOP') return { text: undefined, problem: `${relative} is a symlink` };
    return { text: undefined, problem: `${relative} cannot be read (${code ?? 'error'})` };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { text: undefined, problem: `${relative} is not a regular file` };
    if (stat.size > maxBytes) {
      return {
        text: undefined,
        problem: `${relative} is ${stat.size} bytes, over the ${maxBytes}-byte limit`,
      };
    }
    // Read at most maxBytes+1 even if the file grows after stat.
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > maxBytes)
      return { text: undefined, problem: `${relative} is over the ${maxBytes}-byte limit` };
    return { text: buffer.subarray(0, bytesRead).toString('utf8') };
  } finally {
    await handle.close();
  }
}
