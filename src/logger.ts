import { pino, type Logger, type DestinationStream } from 'pino';
import { tokenMasker, type SecretMasker } from './masking/secret-masker.js';
import { activeLogIds } from './telemetry/trace-context.js';

export type { Logger } from 'pino';

/**
 * Paths pino censors wherever they appear. Secrets should never reach a log call in the
 * first place; this is the second line of defence for headers and config objects.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-hub-signature"]',
  'req.headers["x-slack-signature"]',
  'headers.authorization',
  '*.authorization',
  '*.token',
  '*.accessToken',
  '*.privateKey',
  '*.secret',
  '*.webhookSecrets',
  '*.signingSecret',
  '*.botToken',
  'token',
  'privateKey',
  'password',
];

/**
 * @param masker masks the secrets it knows and every token shape in each line before it is
 *   written (pass `createSecretMasker(configSecrets(config))`). @defaultValue token shapes only
 */
export function createLogger(
  level: string,
  destination?: DestinationStream,
  masker: SecretMasker = tokenMasker,
): Logger {
  return pino(
    {
      level,
      hooks: { streamWrite: (line) => masker.mask(line) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'shipgate' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Every line written inside a span names its trace, so logs and traces find each other.
      mixin: activeLogIds,
    },
    destination,
  );
}
