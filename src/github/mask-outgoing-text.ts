import type { Octokit } from '@octokit/core';
import type { OctokitOptions } from '@octokit/core/types';
import { tokenMasker, type SecretMasker } from '../masking/secret-masker.js';

/**
 * The last barrier before text reaches GitHub, where a pull request's author can read it: the
 * human-readable fields of every request (check-run output and annotations, comment bodies,
 * deployment-status descriptions) pass through the masker. Gate output is masked where it is
 * produced already; this also catches what no gate produced, such as an error message that
 * quotes a command line or a URL with credentials.
 */
const TEXT_FIELDS = ['body', 'description'] as const;
const OUTPUT_FIELDS = ['title', 'summary', 'text'] as const;
const ANNOTATION_FIELDS = ['message', 'title', 'raw_details'] as const;

type Fields = Record<string, unknown>;

function maskFields(target: Fields, fields: readonly string[], masker: SecretMasker): Fields {
  let out = target;
  for (const field of fields) {
    const value = target[field];
    if (typeof value !== 'string') continue;
    const masked = masker.mask(value);
    if (masked !== value) out = { ...out, [field]: masked };
  }
  return out;
}

/** The request parameters with every readable text field masked; the input is not changed. */
export function maskOutgoingText(params: Fields, masker: SecretMasker): Fields {
  let out = maskFields(params, TEXT_FIELDS, masker);
  const output = params.output;
  if (output !== null && typeof output === 'object' && !Array.isArray(output)) {
    let maskedOutput = maskFields(output as Fields, OUTPUT_FIELDS, masker);
    const annotations = (output as Fields).annotations;
    if (Array.isArray(annotations)) {
      maskedOutput = {
        ...maskedOutput,
        annotations: annotations.map((a: unknown) =>
          a !== null && typeof a === 'object' ? maskFields(a as Fields, ANNOTATION_FIELDS, masker) : a,
        ),
      };
    }
    if (maskedOutput !== output) out = { ...out, output: maskedOutput };
  }
  return out;
}

/** An Octokit plugin: `outgoingTextMasker` in the options (token shapes only by default). */
export function maskOutgoingTextPlugin(octokit: Octokit, options: OctokitOptions): void {
  const masker = (options as { outgoingTextMasker?: SecretMasker }).outgoingTextMasker ?? tokenMasker;
  octokit.hook.before('request', (request) => {
    const masked = maskOutgoingText(request as unknown as Fields, masker);
    if (masked !== (request as unknown)) Object.assign(request, masked);
  });
}
