import { createHash } from 'node:crypto';
import type { ExecutionSpec } from './executor.js';

/**
 * Pure builders for the Kubernetes objects of one gate execution. The Job name is derived
 * from the attempt key, so a worker that restarts mid-gate finds (and re-attaches to) the Job
 * its predecessor created instead of starting a second one.
 */

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_RUN_ID = 'shipgate.dev/run-id';
export const LABEL_GATE = 'shipgate.dev/gate';
export const LABEL_ATTEMPT = 'shipgate.dev/attempt';
export const ANNOTATION_RUN_ID = 'shipgate.dev/run-id';
export const ANNOTATION_ATTEMPT_KEY = 'shipgate.dev/attempt-key';
export const ANNOTATION_NONCE = 'shipgate.dev/report-nonce';
export const MAIN_CONTAINER = 'main';
export const TOKEN_KEY = 'token';

const TOKEN_DIR = '/var/run/shipgate/git';
const WORKSPACE = '/workspace';

export interface JobManifestOptions {
  namespace: string;
  /** Image for the clone init container (needs git and sh). */
  gitImage: string;
  /** @defaultValue 65532 */
  runAsUser: number;
  ttlSecondsAfterFinished: number;
  /** Random per Job; marks report blocks in the log so output cannot be mistaken for them. */
  nonce: string;
  /** Name of the Secret holding the clone token, when there is one. */
  tokenSecretName: string | undefined;
  serviceAccountName: string | undefined;
  imagePullSecrets: readonly string[];
}

export function attemptHash(attemptKey: string): string {
  return createHash('sha256').update(attemptKey).digest('hex').slice(0, 20);
}

/** `sg-<gate>-<hash of attemptKey>`: a valid DNS label, at most 55 characters. */
export function jobNameFor(spec: Pick<ExecutionSpec, 'gate' | 'attemptKey'>): string {
  return `sg-${spec.gate}-${attemptHash(spec.attemptKey)}`;
}

export function secretNameFor(jobName: string): string {
  return `${jobName}-git`;
}

/** A label value: at most 63 characters of [A-Za-z0-9._-], alphanumeric at both ends. */
export function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .slice(0, 63)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Clones exactly one commit. The token is read from the mounted Secret file by a credential
 * helper at the moment git asks: it is never in argv, the URL, the environment or the log.
 */
export const CLONE_SCRIPT = `set -eu
mkdir -p "$SHIPGATE_SRC"
cd "$SHIPGATE_SRC"
git init -q .
git remote add origin "$SHIPGATE_CLONE_URL"
helper='!f() { test "$1" = get || exit 0; echo username=x-access-token; printf "password=%s\\n" "$(cat "$SHIPGATE_TOKEN_FILE")"; }; f'
if [ ! -f "$SHIPGATE_TOKEN_FILE" ]; then helper=''; fi
if ! git -c credential.helper= -c credential.helper="$helper" fetch -q --no-tags --depth 1 origin "$SHIPGATE_SHA"; then
  git -c credential.helper= -c credential.helper="$helper" fetch -q --tags origin
fi
git -c advice.detachedHead=false checkout -q --detach "$SHIPGATE_SHA"
test "$(git rev-parse HEAD)" = "$SHIPGATE_SHA"
echo "checked out $SHIPGATE_SHA"
`;

/**
 * Wraps the gate command: runs it (argv via "$@", no re-splitting), then prints each report
 * base64-encoded between marker lines carrying the Job's nonce, then the exit status. Pod logs
 * are the one channel every cluster offers for getting files out of a finished container.
 */
export function runScript(reportFiles: Record<string, string>, nonce: string): string {
  const emits = Object.entries(reportFiles)
    .map(([name, file]) => `emit ${shellQuote(name)} ${shellQuote(file)}`)
    .join('\n');
  return `"$@"
rc=$?
emit() {
  if [ -f "$2" ] && [ ! -L "$2" ]; then
    printf '\\n::shipgate-report-begin %s %s::\\n' '${nonce}' "$1"
    base64 < "$2"
    printf '\\n::shipgate-report-end %s %s::\\n' '${nonce}' "$1"
  fi
}
${emits}
printf '\\n::shipgate-exit %s %s::\\n' '${nonce}' "$rc"
exit "$rc"
`;
}

const restrictedSecurityContext = (readOnlyRootFilesystem: boolean) => ({
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
});

export function buildTokenSecret(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  token: string,
) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels },
    type: 'Opaque',
    data: { [TOKEN_KEY]: Buffer.from(token).toString('base64') },
  };
}

export function jobLabels(spec: ExecutionSpec): Record<string, string> {
  return {
    [LABEL_MANAGED_BY]: 'shipgate',
    [LABEL_RUN_ID]: labelValue(spec.runId),
    [LABEL_GATE]: spec.gate,
    [LABEL_ATTEMPT]: attemptHash(spec.attemptKey),
  };
}

export function buildJob(spec: ExecutionSpec, options: JobManifestOptions) {
  const name = jobNameFor(spec);
  const labels = jobLabels(spec);
  const workingDir = spec.container?.workingDir ?? (spec.checkout ? `${WORKSPACE}/src` : WORKSPACE);
  const readOnlyRoot = spec.container?.readOnlyRootFilesystem ?? true;
  const uid = spec.container?.runAsUser ?? options.runAsUser;
  const resources =
    spec.resources && (spec.resources.cpu || spec.resources.memory)
      ? {
          requests: {
            ...(spec.resources.cpu ? { cpu: spec.resources.cpu } : {}),
            ...(spec.resources.memory ? { memory: spec.resources.memory } : {}),
          },
          limits: {
            ...(spec.resources.cpu ? { cpu: spec.resources.cpu } : {}),
            ...(spec.resources.memory ? { memory: spec.resources.memory } : {}),
          },
        }
      : undefined;

  const volumes: Record<string, unknown>[] = [
    { name: 'workspace', emptyDir: {} },
    { name: 'tmp', emptyDir: {} },
  ];
  const mainMounts: Record<string, unknown>[] = [
    { name: 'workspace', mountPath: WORKSPACE },
    { name: 'tmp', mountPath: '/tmp' },
  ];
  if (!workingDir.startsWith(`${WORKSPACE}/`) && workingDir !== WORKSPACE) {
    volumes.push({ name: 'workdir', emptyDir: {} });
    mainMounts.push({ name: 'workdir', mountPath: workingDir });
  }
  const initContainers: Record<string, unknown>[] = [];
  if (spec.checkout) {
    if (options.tokenSecretName) {
      volumes.push({
        name: 'git-token',
        secret: {
          secretName: options.tokenSecretName,
          defaultMode: 0o440,
          items: [{ key: TOKEN_KEY, path: TOKEN_KEY }],
        },
      });
    }
    initContainers.push({
      name: 'clone',
      image: options.gitImage,
      command: ['sh', '-c', CLONE_SCRIPT],
      env: [
        { name: 'SHIPGATE_CLONE_URL', value: spec.checkout.cloneUrl },
        { name: 'SHIPGATE_SHA', value: spec.checkout.sha },
        { name: 'SHIPGATE_SRC', value: `${WORKSPACE}/src` },
        { name: 'SHIPGATE_TOKEN_FILE', value: `${TOKEN_DIR}/${TOKEN_KEY}` },
        { name: 'HOME', value: '/tmp' },
        { name: 'GIT_TERMINAL_PROMPT', value: '0' },
        { name: 'GIT_CONFIG_NOSYSTEM', value: '1' },
      ],
      volumeMounts: [
        { name: 'workspace', mountPath: WORKSPACE },
        { name: 'tmp', mountPath: '/tmp' },
        ...(options.tokenSecretName ? [{ name: 'git-token', mountPath: TOKEN_DIR, readOnly: true }] : []),
      ],
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
      securityContext: restrictedSecurityContext(true),
    });
  }

  const env = { HOME: `${WORKSPACE}/home`, TMPDIR: '/tmp', ...spec.env };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: options.namespace,
      labels,
      annotations: {
        [ANNOTATION_RUN_ID]: spec.runId,
        [ANNOTATION_ATTEMPT_KEY]: spec.attemptKey,
        [ANNOTATION_NONCE]: options.nonce,
      },
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: spec.timeoutSeconds,
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
          ...(options.imagePullSecrets.length > 0
            ? { imagePullSecrets: options.imagePullSecrets.map((n) => ({ name: n })) }
            : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: uid,
            runAsGroup: uid,
            fsGroup: uid,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          volumes,
          initContainers,
          containers: [
            {
              name: MAIN_CONTAINER,
              image: spec.image,
              command: [
                'sh',
                '-c',
                runScript(spec.reportFiles, options.nonce),
                'shipgate-run',
                ...spec.command,
              ],
              workingDir,
              env: Object.entries(env).map(([n, value]) => ({ name: n, value })),
              ...(resources ? { resources } : {}),
              volumeMounts: mainMounts,
              securityContext: restrictedSecurityContext(readOnlyRoot),
            },
          ],
        },
      },
    },
  };
}
