/**
 * Fails when a component of the production SBOM has a licence outside the allowlist, or none.
 * Run with `npx tsx scripts/check-licences.ts sbom.cdx.json` (after scripts/generate-sbom.sh).
 *
 * The allowlist is what the Apache Software Foundation's third-party policy puts in Category A
 * (may be shipped in an Apache-2.0 work without conditions beyond notices). A new licence is a
 * decision for a person: add it here, with its reason in docs/dependencies.md.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const ALLOWED_LICENCES: ReadonlySet<string> = new Set([
  'MIT',
  'MIT-0',
  'ISC',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'Apache-2.0',
  'BlueOak-1.0.0',
  'Python-2.0', // argparse (js-yaml, via @kubernetes/client-node): the PSF licence, permissive
  'CC0-1.0', // public-domain dedication (railroad-diagrams, via kubernetes-models' validator)
  'Unlicense', // public-domain dedication (stream-buffers, via @kubernetes/client-node)
]);

interface CycloneDxLicence {
  license?: { id?: string; name?: string };
  expression?: string;
}
interface CycloneDxComponent {
  name: string;
  version: string;
  group?: string;
  licenses?: CycloneDxLicence[];
}

export interface LicenceProblem {
  component: string;
  licences: string[];
}

/** `A OR B` passes when either side is allowed; `A AND B` needs both; parentheses are flattened. */
export function expressionAllowed(
  expression: string,
  allowed: ReadonlySet<string> = ALLOWED_LICENCES,
): boolean {
  const text = expression.replace(/[()]/g, ' ').trim();
  if (/\s+OR\s+/.test(text)) return text.split(/\s+OR\s+/).some((part) => expressionAllowed(part, allowed));
  if (/\s+AND\s+/.test(text))
    return text.split(/\s+AND\s+/).every((part) => expressionAllowed(part, allowed));
  return allowed.has(text.replace(/\s+WITH\s+.*$/, ''));
}

export function checkLicences(
  sbom: { components?: CycloneDxComponent[] },
  allowed: ReadonlySet<string> = ALLOWED_LICENCES,
): LicenceProblem[] {
  const problems: LicenceProblem[] = [];
  for (const component of sbom.components ?? []) {
    const licences = (component.licenses ?? [])
      .map((l) => l.expression ?? l.license?.id ?? l.license?.name)
      .filter((l): l is string => typeof l === 'string' && l !== '');
    // Several entries mean the package is offered under each of them: one allowed is enough.
    if (licences.length > 0 && licences.some((l) => expressionAllowed(l, allowed))) continue;
    const name = component.group ? `${component.group}/${component.name}` : component.name;
    problems.push({ component: `${name}@${component.version}`, licences });
  }
  return problems;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const file = process.argv[2] ?? 'sbom.cdx.json';
  const sbom = JSON.parse(readFileSync(file, 'utf8')) as { components?: CycloneDxComponent[] };
  const problems = checkLicences(sbom);
  for (const p of problems) {
    console.error(
      `check-licences: ${p.component} is licensed ${p.licences.length > 0 ? p.licences.join(', ') : '(no licence declared)'}, outside the allowlist`,
    );
  }
  if (problems.length > 0) process.exit(1);
  console.error(
    `check-licences: ${sbom.components?.length ?? 0} production components, every licence allowed`,
  );
}
