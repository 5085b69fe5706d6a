/**
 * Masks secrets in text before it leaves the worker (check-run output, logs): every secret
 * Shipgate knows, verbatim and as it looks inside JSON, and anything shaped like a token
 * (GitHub and Slack tokens, PEM blocks) whoever it belongs to. A gate's output is written by
 * code Shipgate does not trust, so this runs on all of it, not only where a secret is expected.
 */

import { parseRedisTarget, redisTargetSecrets } from '../redis/redis-target.js';

export const MASK = '[masked]';

/** Token shapes masked wherever they appear. */
export const TOKEN_PATTERNS: readonly RegExp[] = [
  // PEM blocks (private keys, certificates' keys), raw or with `\n` escaped as in JSON.
  /-----BEGIN [A-Z0-9 ]{1,64}-----[\s\S]*?-----END [A-Z0-9 ]{1,64}-----/g,
  // A PEM block cut off by a tail or a limit still shows key material: mask to the end.
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*$/g,
  /\bgh[pousr]_[A-Za-z0-9]{20,255}\b/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,255}\b/g,
  /\bxox[abposr]-[A-Za-z0-9-]{8,255}/g,
  /\bxapp-[A-Za-z0-9-]{8,255}/g,
];

/** Secrets shorter than this are not masked verbatim: "abc" would mangle every log. */
const MIN_SECRET_LENGTH = 6;

export interface SecretMasker {
  mask(text: string): string;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** The forms a secret takes in text: as is, JSON-escaped, and each line of a multi-line one. */
function formsOf(secret: string): string[] {
  const forms = new Set<string>([secret, JSON.stringify(secret).slice(1, -1)]);
  for (const line of secret.split(/\r?\n/)) if (line.trim().length >= 16) forms.add(line.trim());
  return [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

export function createSecretMasker(secrets: Iterable<string | undefined>): SecretMasker {
  const forms = new Set<string>();
  for (const secret of secrets) if (secret) for (const form of formsOf(secret)) forms.add(form);
  // Longest first, so a secret that contains another is masked whole.
  const known = [...forms].sort((a, b) => b.length - a.length);
  const knownPattern = known.length > 0 ? new RegExp(known.map(escapeRegExp).join('|'), 'g') : undefined;
  return {
    mask(text: string): string {
      let out = knownPattern ? text.replace(knownPattern, MASK) : text;
      for (const pattern of TOKEN_PATTERNS) out = out.replace(pattern, MASK);
      return out;
    },
  };
}

/** Masks token shapes only; for places that know no secrets. */
export const tokenMasker: SecretMasker = createSecretMasker([]);

/** The secrets in Shipgate's configuration, for `createSecretMasker`. */
export function configSecrets(config: {
  github: { privateKey: string | undefined; webhookSecrets: readonly string[] };
  slack: { botToken: string | undefined; signingSecret: string | undefined };
  argocd: { token: string | undefined };
  apiToken: string | undefined;
  redisUrl: string | undefined;
}): string[] {
  return [
    config.github.privateKey,
    ...config.github.webhookSecrets,
    config.slack.botToken,
    config.slack.signingSecret,
    config.argocd.token,
    config.apiToken,
    ...redisPasswords(config.redisUrl),
  ].filter((s): s is string => typeof s === 'string' && s !== '');
}

/** The password in a REDIS_URL of any form (`redis://user:password@host`, `redis+cluster://…`), decoded. */
export function redisPassword(url: string | undefined): string | undefined {
  return url ? redisPasswords(url)[0] : undefined;
}

/** Every password a REDIS_URL carries (a Sentinel URL may carry two). */
export function redisPasswords(url: string | undefined): string[] {
  if (!url) return [];
  try {
    return redisTargetSecrets(parseRedisTarget(url));
  } catch {
    return [];
  }
}
