import path from 'node:path';

/**
 * The bubblewrap command line for one sandboxed command, as a pure function of its layout, so
 * what a gate can see is decided in one readable place (and unit-tested without running it).
 *
 * What the sandbox holds, by construction (nothing else of the host is mounted):
 * - the system: `/usr` and the merged-usr links, read-only, and a short list of `/etc` files
 *   that programs need to run, resolve names and trust CAs (never all of `/etc`, where a key
 *   file or an `.npmrc` with a token could live);
 * - the directories of the gate's PATH, read-only, so locally installed scanners run;
 * - the work folder (the checkout, a private HOME) and a private `/tmp`: the only writable
 *   places (read-only for a kustomize render);
 * - a fresh `/proc` of its own PID namespace, and a minimal `/dev`.
 * New user, PID, IPC, UTS and cgroup namespaces; a new network namespace (loopback only, so
 * not even the host's loopback services) unless the platform allows egress. The sandbox dies
 * with its parent.
 */

export type SandboxNetwork = 'none' | 'egress';

export interface SandboxMount {
  /** Host path. */
  source: string;
  /** Path inside the sandbox. */
  target: string;
  writable: boolean;
}

export interface SandboxLayout {
  /** The folders the command works in (the checkout, HOME…). */
  mounts: readonly SandboxMount[];
  /** Host folder mounted at `/tmp`; undefined gives an empty tmpfs. */
  tmpDir?: string | undefined;
  /** Host folders shown read-only at the same path (the PATH's tool folders). */
  readOnlyDirs?: readonly string[] | undefined;
  /** Host paths never shown, even when they lie inside a mounted folder (the key file, the data dir). */
  hide?: readonly { path: string; isDirectory: boolean }[] | undefined;
  network: SandboxNetwork;
  /** Working directory inside the sandbox. */
  cwd: string;
  /** The `/etc` entries shown. @defaultValue `ETC_ENTRIES` */
  etc?: readonly string[] | undefined;
  /** The uid and gid the command has inside. @defaultValue 65534 (nobody) */
  uid?: number | undefined;
  gid?: number | undefined;
}

/** How the host's top-level system folders look: merged-usr links or real folders. */
export interface HostRoot {
  /** `/bin` → `usr/bin` and the like; absent entries do not exist on the host. */
  links: Readonly<Record<string, string>>;
  /** Top-level system folders that are real folders (e.g. `/lib` on a non-merged-usr host). */
  dirs: readonly string[];
}

/** The `/etc` entries a program needs; everything else under `/etc` stays out. */
export const ETC_ENTRIES = [
  'alternatives',
  'ca-certificates',
  'ca-certificates.conf',
  'ssl',
  'pki',
  'crypto-policies',
  'gai.conf',
  'group',
  'passwd',
  'host.conf',
  'hosts',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'timezone',
  'mime.types',
  'nsswitch.conf',
  'os-release',
  'protocols',
  'services',
  'resolv.conf',
  'debian_version',
  'inputrc',
] as const;

/** Top-level system folders looked at for `HostRoot`. */
export const SYSTEM_TOP_LEVEL = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;

const isUnder = (parent: string, child: string): boolean => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

export function sandboxArguments(layout: SandboxLayout, host: HostRoot): string[] {
  const uid = String(layout.uid ?? 65534);
  const gid = String(layout.gid ?? 65534);
  const args = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(layout.network === 'none' ? ['--unshare-net'] : []),
    '--die-with-parent',
    '--uid', uid,
    '--gid', gid,
    '--hostname', 'shipgate-gate',
    '--ro-bind', '/usr', '/usr',
  ]; // prettier-ignore
  for (const [link, target] of Object.entries(host.links)) args.push('--symlink', target, link);
  for (const dir of host.dirs) args.push('--ro-bind', dir, dir);
  for (const entry of layout.etc ?? ETC_ENTRIES) args.push('--ro-bind-try', `/etc/${entry}`, `/etc/${entry}`);
  args.push('--proc', '/proc', '--dev', '/dev');
  if (layout.tmpDir === undefined) args.push('--tmpfs', '/tmp');
  else args.push('--bind', layout.tmpDir, '/tmp');

  const shown: string[] = ['/usr', ...host.dirs];
  for (const dir of layout.readOnlyDirs ?? []) {
    if (shown.some((s) => isUnder(s, dir))) continue;
    args.push('--ro-bind-try', dir, dir);
    shown.push(dir);
  }
  for (const mount of layout.mounts) {
    args.push(mount.writable ? '--bind' : '--ro-bind', mount.source, mount.target);
  }
  // A secret inside a shown folder is covered: an empty folder, or /dev/null for a file.
  const hostShown = [
    ...shown,
    ...(layout.tmpDir ? [layout.tmpDir] : []),
    ...layout.mounts.map((m) => m.source),
  ];
  for (const hidden of layout.hide ?? []) {
    const mount = layout.mounts.find((m) => isUnder(m.source, hidden.path));
    const target = mount
      ? path.join(mount.target, path.relative(mount.source, hidden.path))
      : layout.tmpDir && isUnder(layout.tmpDir, hidden.path)
        ? path.join('/tmp', path.relative(layout.tmpDir, hidden.path))
        : hostShown.some((s) => isUnder(s, hidden.path)) ||
            ETC_ENTRIES.some((e) => isUnder(`/etc/${e}`, hidden.path))
          ? hidden.path
          : undefined;
    if (target === undefined) continue;
    if (hidden.isDirectory) args.push('--tmpfs', target, '--remount-ro', target);
    else args.push('--ro-bind', '/dev/null', target);
  }
  // The sandbox's own root (a tmpfs holding the mount points) goes read-only last, so nothing
  // but the work folder and /tmp is writable, not even in the sandbox's private view.
  args.push('--remount-ro', '/', '--chdir', layout.cwd);
  return args;
}
