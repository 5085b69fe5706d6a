/**
 * Secrets that only look set. `.env.example` once shipped `GITHUB_WEBHOOK_SECRET=change-me`, and
 * Shipgate started with it: anyone who read the README could then sign webhooks. A shared secret
 * (webhook, Slack signing, API token) is only as strong as its guessability, so a placeholder or
 * a short value stops the start instead.
 */

export const MIN_SECRET_LENGTH = 16;

/**
 * Words that mark a value as a stand-in, compared on the value lower-cased with everything but
 * letters and digits removed (`Change_Me`, `change-me`, `CHANGEME` are one). A random secret
 * does not contain them by chance.
 */
const PLACEHOLDER_WORDS = [
  'changeme',
  'replaceme',
  'placeholder',
  'yoursecret',
  'yourtoken',
  'secrethere',
  'tokenhere',
  'notasecret',
  'insecure',
];

/** How to make a good one, for the message. */
export const SECRET_ADVICE = 'generate one with `openssl rand -hex 32`';

/**
 * Why `value` is not acceptable as a secret, in words that never repeat the value; undefined when
 * it is acceptable.
 */
export function weakSecretReason(value: string): string | undefined {
  const folded = value.toLowerCase().replace(/[^a-z0-9]/g, '');
  const word = PLACEHOLDER_WORDS.find((w) => folded.includes(w));
  if (word !== undefined) return `is a placeholder (it contains "${word}"): ${SECRET_ADVICE}`;
  if (/^<.*>$/.test(value) || /^\$\{.*\}$/.test(value)) {
    return `is a template, not a value: ${SECRET_ADVICE}`;
  }
  if (value.length < MIN_SECRET_LENGTH) {
    return `is shorter than ${MIN_SECRET_LENGTH} characters: ${SECRET_ADVICE}`;
  }
  // `aaaaaaaaaaaaaaaa`, `abababababababab`: long enough, and still guessed at once.
  if (new Set(value).size < 5) return `uses fewer than 5 different characters: ${SECRET_ADVICE}`;
  return undefined;
}
