import { z } from 'zod';
import { relativePathSchema } from './safe-relative-path.js';
import { DEPLOY_STRATEGIES } from '../deploy/strategies.js';

/**
 * The schema of `.shipgate.yml`, version 1. Every object is strict, so a typo (`timeoutSecond`)
 * is an error with a "did you mean" hint rather than a silently ignored setting. Defaults are
 * applied here, so the rest of Shipgate reads a complete, normalised config.
 */

export const PIPELINE_CONFIG_VERSION = 1;
export const TEST_TIMEOUT_DEFAULT_SECONDS = 900;
export const TEST_TIMEOUT_MAX_SECONDS = 3600;
export const TRIVY_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
export const ZAP_RISKS = ['High', 'Medium', 'Low', 'Informational'] as const;

export type TrivySeverity = (typeof TRIVY_SEVERITIES)[number];
export type ZapRisk = (typeof ZAP_RISKS)[number];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Kubernetes-style DNS label (RFC 1123): used in paths, namespaces and resource names. */
export const dnsLabel = z.string().max(63).regex(DNS_LABEL, {
  message: 'must be a DNS label: lowercase letters, digits and "-", starting and ending alphanumeric',
});

// The grammar of distribution/reference, without IPv6 hosts.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)';
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const REPOSITORY = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = 'sha256:[a-f0-9]{64}';

export const IMAGE_REPOSITORY_PATTERN = new RegExp(`^${REPOSITORY}$`);
export const IMAGE_REFERENCE_PATTERN = new RegExp(`^${REPOSITORY}(?::${TAG})?(?:@${DIGEST})?$`);
export const IMAGE_TAG_PATTERN = new RegExp(`^${TAG}$`);
export const IMAGE_DIGEST_PATTERN = new RegExp(`^${DIGEST}$`);
const TAG_TEMPLATE = /^(?:\{(?:tag|version|sha|shortSha)\}|[A-Za-z0-9_.-])+$/;

const imageSchema = z.strictObject({
  repository: z
    .string()
    .max(255)
    .regex(IMAGE_REPOSITORY_PATTERN, {
      message: 'must be an image repository without a tag or digest, like ghcr.io/acme/web-shop',
    })
    .meta({ description: 'The image that a release deploys, without tag or digest.' }),
  tag: z
    .string()
    .max(128)
    .regex(TAG_TEMPLATE, {
      message:
        'may only use letters, digits, "_", ".", "-" and the placeholders {tag}, {version}, {sha}, {shortSha}',
    })
    .default('{tag}')
    .meta({
      description:
        'How the image tag is named for a release. {tag} is the git tag (v1.2.3), {version} the git tag ' +
        'without a leading "v" (1.2.3), {sha} the commit and {shortSha} its first 7 characters. ' +
        'A release is pinned by digest when the digest is known, otherwise by this tag.',
    }),
});

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const testSchema = z.strictObject({
  image: z
    .string()
    .max(512)
    .regex(IMAGE_REFERENCE_PATTERN, { message: 'must be an image reference, like node:20-bookworm' })
    .meta({ description: 'The container image the test command runs in.' }),
  command: z
    .union([z.string().min(1).max(4096), z.array(z.string().max(4096)).min(1).max(64)])
    .transform((command) => (typeof command === 'string' ? ['sh', '-c', command] : command))
    .meta({
      description:
        'A string runs with `sh -c`; a list is run as an argv without a shell (for images without sh).',
    }),
  timeoutSeconds: z
    .int()
    .min(10)
    .max(TEST_TIMEOUT_MAX_SECONDS)
    .default(TEST_TIMEOUT_DEFAULT_SECONDS)
    .meta({
      description: `Killed after this long. Default ${TEST_TIMEOUT_DEFAULT_SECONDS}, at most ${TEST_TIMEOUT_MAX_SECONDS}.`,
    }),
  workingDirectory: relativePathSchema({ allowRoot: true }, 'Folder of the checkout to run in.').default('.'),
  env: z
    .record(
      z
        .string()
        .max(128)
        .regex(ENV_NAME, { message: 'must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)' })
        .refine((name) => !name.toUpperCase().startsWith('SHIPGATE_'), {
          message: 'names starting with SHIPGATE_ are reserved',
          params: { expected: 'a name not starting with SHIPGATE_' },
        }),
      // YAML turns `DEBUG: true` into a boolean; an env var is a string either way.
      z.union([z.string().max(4096), z.number(), z.boolean()]).transform(String),
    )
    .default({})
    .meta({ description: 'Plain environment variables. Not for secrets: this file is public to the repo.' }),
  junit: relativePathSchema(
    { allowGlob: true },
    'JUnit XML report(s) the tests leave, relative to the checkout; "*" allowed.',
  ).optional(),
});

const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'must be a date written YYYY-MM-DD' })
  .refine(
    (value) => {
      const date = new Date(`${value}T00:00:00Z`);
      return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(value);
    },
    { message: 'is not a real calendar date', params: { expected: 'a real date, YYYY-MM-DD' } },
  );

const onScannerMissing = z.enum(['fail', 'neutral']).default('fail').meta({
  description: 'When the scanner is missing or crashes: fail the gate (default) or report neutral.',
});

const trivySchema = z.strictObject({
  mode: z.enum(['image', 'fs']).default('image').meta({
    description:
      'What a release scans: the released image (default) or the source tree at the tag. Pull requests always scan the source tree.',
  }),
  failOn: z
    .array(z.enum(TRIVY_SEVERITIES))
    .min(1)
    .default(['CRITICAL', 'HIGH'])
    .meta({ description: 'Severities that fail the gate.' }),
  ignoreUnfixed: z
    .boolean()
    .default(false)
    .meta({ description: 'Ignore vulnerabilities without a fixed version.' }),
  ignore: z
    .array(
      z.strictObject({
        id: z
          .string()
          .max(200)
          .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, { message: 'must be a finding id such as CVE-2024-1234' }),
        reason: z.string().trim().min(3).max(500),
        expires: isoDate.meta({
          description:
            'Last day (UTC) the ignore applies. After it, the finding counts again and the check says so.',
        }),
      }),
    )
    .max(500)
    .default([]),
  onScannerMissing,
});

const zapRuleId = z
  .union([
    z.int().nonnegative(),
    z.string().regex(/^\d{1,10}$/, { message: 'must be a ZAP rule id (digits)' }),
  ])
  .transform(String);

const zapSchema = z.strictObject({
  target: z
    .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
    .max(2048)
    .optional()
    .meta({
      description:
        'URL to scan on pull requests. Releases scan the blue-green preview service instead. The platform ' +
        "policy must allow the URL's host, or pull-request ZAP scans are skipped.",
    }),
  failThreshold: z
    .enum(ZAP_RISKS)
    .default('High')
    .meta({ description: 'Alerts of this risk or higher fail the gate.' }),
  rules: z
    .array(
      z.strictObject({
        id: zapRuleId,
        action: z.enum(['ignore', 'warn', 'fail']),
        reason: z.string().max(500).optional(),
      }),
    )
    .max(500)
    .default([])
    .meta({ description: 'Per-rule overrides, like a ZAP rules file: ignore, warn (never fails) or fail.' }),
  onScannerMissing,
});

const manifestSourceSchema = z
  .strictObject({
    kustomize: relativePathSchema({}, 'A kustomize overlay folder.').optional(),
    directory: relativePathSchema({}, 'A folder of plain YAML manifests.').optional(),
  })
  .superRefine((value, ctx) => {
    const set = [value.kustomize, value.directory].filter((v) => v !== undefined).length;
    if (set !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: 'set exactly one of "kustomize" or "directory"',
        params: { expected: '{ kustomize: <dir> } or { directory: <dir> }' },
      });
    }
  })
  .transform((value) =>
    value.kustomize !== undefined
      ? { kind: 'kustomize' as const, path: value.kustomize }
      : { kind: 'directory' as const, path: value.directory! },
  );

const environmentSchema = z
  .union([
    dnsLabel,
    z.strictObject({
      name: dnsLabel,
      zap: z
        .strictObject({
          path: z
            .string()
            .max(1024)
            .regex(/^\/[^\s]*$/, { message: 'must be a URL path starting with "/"' })
            .default('/')
            .meta({ description: 'Path on the preview service where the ZAP scan starts.' }),
        })
        .prefault({}),
      strategy: z.enum(DEPLOY_STRATEGIES).default('blueGreen').meta({
        description:
          'How this environment rolls out: blueGreen (preview, then switch), canary (the Rollout shifts traffic step by step; Shipgate gates every pause) or rolling (a plain Deployment replaces its pods; Shipgate watches its progress conditions and Argo CD health). The platform policy may require blueGreen.',
      }),
    }),
  ])
  .transform((value) =>
    typeof value === 'string' ? { name: value, zap: { path: '/' }, strategy: 'blueGreen' as const } : value,
  );

export const pipelineConfigSchema = z
  .strictObject({
    version: z.literal(PIPELINE_CONFIG_VERSION).meta({ description: 'The file format version. Always 1.' }),
    app: dnsLabel.meta({
      description: 'The app name. The platform policy must grant this name to the repo.',
    }),
    image: imageSchema,
    test: testSchema,
    scan: z
      .strictObject({
        trivy: trivySchema.prefault({}),
        zap: zapSchema.prefault({}),
      })
      .prefault({}),
    manifests: z
      .record(dnsLabel, manifestSourceSchema)
      .meta({ description: 'The manifest source of each environment.' }),
    environments: z
      .array(environmentSchema)
      .min(1)
      .max(20)
      .meta({ description: 'Environments in promotion order: a name, or { name, zap: { path } }.' }),
  })
  .superRefine((config, ctx) => {
    const issue = (path: PropertyKey[], message: string, expected: string, onKey = false) =>
      ctx.addIssue({ code: 'custom', path, message, params: { expected, onKey } });

    const seen = new Map<string, number>();
    config.environments.forEach((env, index) => {
      if (seen.has(env.name)) {
        issue(
          ['environments', index],
          `environment "${env.name}" is listed twice`,
          'unique environment names',
        );
      } else {
        seen.set(env.name, index);
      }
      if (!Object.hasOwn(config.manifests, env.name)) {
        issue(
          ['environments', index],
          `environment "${env.name}" has no entry under "manifests"`,
          `manifests.${env.name}: { kustomize: <dir> } or { directory: <dir> }`,
        );
      }
    });
    for (const name of Object.keys(config.manifests)) {
      if (!seen.has(name)) {
        issue(
          ['manifests', name],
          `"manifests.${name}" is not one of the environments`,
          `one of: ${[...seen.keys()].join(', ')}`,
          true,
        );
      }
    }
    reportDuplicates(config.scan.trivy.failOn, (i) =>
      issue(['scan', 'trivy', 'failOn', i], 'severity listed twice', 'unique severities'),
    );
    reportDuplicates(
      config.scan.trivy.ignore.map((e) => e.id),
      (i) =>
        issue(
          ['scan', 'trivy', 'ignore', i, 'id'],
          'this finding is ignored twice',
          'one entry per finding id',
        ),
    );
    reportDuplicates(
      config.scan.zap.rules.map((r) => r.id),
      (i) => issue(['scan', 'zap', 'rules', i, 'id'], 'this rule has two overrides', 'one entry per rule id'),
    );
  });

function reportDuplicates(values: readonly string[], report: (index: number) => void): void {
  const seen = new Set<string>();
  values.forEach((value, index) => {
    if (seen.has(value)) report(index);
    seen.add(value);
  });
}

export type PipelineConfig = z.output<typeof pipelineConfigSchema>;
export type PipelineConfigInput = z.input<typeof pipelineConfigSchema>;
export type PipelineEnvironment = PipelineConfig['environments'][number];
export type ManifestSource = PipelineConfig['manifests'][string];
export type TrivySettings = PipelineConfig['scan']['trivy'];
export type TrivyIgnore = TrivySettings['ignore'][number];
export type ZapSettings = PipelineConfig['scan']['zap'];
export type ZapRuleOverride = ZapSettings['rules'][number];
