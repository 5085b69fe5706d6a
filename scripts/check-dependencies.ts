/**
 * Fails when package.json and the import graph disagree: a runtime dependency nothing in the
 * product imports (unused, or used only by tests: misplaced), a devDependency nothing uses, or a
 * package imported without being declared. Run with `npx tsx scripts/check-dependencies.ts`.
 *
 * A small script rather than knip or depcheck: it knows Shipgate's one split (src/ and workers/
 * are the product, everything else is development), reads imports with the TypeScript parser
 * already in devDependencies, and its verdicts are tested (test/unit/supply/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

/** Folders whose code ships in the image: their imports must be runtime dependencies. */
export const PRODUCTION_ROOTS = ['src', 'workers'];
/** Everything else that imports packages: tests, benchmarks, simulators, scripts, config. */
export const DEVELOPMENT_ROOTS = [
  'test',
  'bench',
  'sandbox',
  'scripts',
  'eslint.config.js',
  'vitest.config.ts',
  // The web console: bundled into dist/web at build time, so its packages are devDependencies.
  'web',
];

/**
 * devDependencies used as commands or ambient types, never imported. Each needs its reason:
 * an entry here is the only way a package stays without an import.
 */
export const TOOLS: Readonly<Record<string, string>> = {
  eslint: 'npm run lint',
  prettier: 'npm run lint and npm run format',
  typescript: 'tsc for build and typecheck; also parses imports here',
  tsx: 'runs the benchmarks and scripts',
  vitest: 'npm test',
  '@types/node': 'Node types ("types": ["node"] in tsconfig.json)',
};

export interface ImportUse {
  file: string;
  specifier: string;
  /** `import type` / `export type`: erased at build, so a devDependency is enough. */
  typeOnly: boolean;
  /**
   * A string that equals a package name, in a file whose import() specifier is computed: it may
   * name a dependency that is loaded, but it never makes one "unlisted" (most such strings are not).
   */
  indirect?: boolean;
}

export interface PackageManifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

export interface DependencyProblem {
  kind: 'unused' | 'misplaced' | 'unlisted' | 'dev-in-production';
  name: string;
  message: string;
}

const BUILTINS = new Set(builtinModules);

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`; relative, builtin or empty → undefined. */
export function packageOf(specifier: string): string | undefined {
  if (specifier === '' || specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  if (specifier.startsWith('node:') || BUILTINS.has(specifier.split('/')[0]!)) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  // A template's head like `kubernetes-models/` still names its package; `@scope/` alone does not.
  return /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*$/i.test(name) ? name : undefined;
}

/** The literal text an import argument starts with: a string, a template's head, or a const holding one. */
function literalPrefix(node: ts.Expression, source: ts.SourceFile): string | undefined {
  if (ts.isStringLiteralLike(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.head.text;
  if (ts.isIdentifier(node)) {
    // `const specifier = \`kubernetes-models/${dir}\`; import(specifier)`: follow the one hop.
    let found: string | undefined;
    const visit = (n: ts.Node): void => {
      if (
        found === undefined &&
        ts.isVariableDeclaration(n) &&
        ts.isIdentifier(n.name) &&
        n.name.text === node.text &&
        n.initializer !== undefined &&
        !ts.isIdentifier(n.initializer)
      ) {
        found = literalPrefix(n.initializer, source);
      }
      ts.forEachChild(n, visit);
    };
    visit(source);
    return found;
  }
  return undefined;
}

/** Every module specifier one file imports, exports from, dynamically imports or requires. */
export function importsOf(file: string, text: string): ImportUse[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const uses: ImportUse[] = [];
  const add = (specifier: string | undefined, typeOnly: boolean, indirect = false) => {
    if (specifier !== undefined) uses.push({ file, specifier, typeOnly, ...(indirect ? { indirect } : {}) });
  };
  let computedImport = false;
  const strings = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly =
        clause !== undefined &&
        (clause.isTypeOnly ||
          (clause.name === undefined &&
            clause.namedBindings !== undefined &&
            ts.isNamedImports(clause.namedBindings) &&
            clause.namedBindings.elements.length > 0 &&
            clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      add(node.moduleSpecifier.text, typeOnly);
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      add(node.moduleSpecifier.text, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const literal = node.argument.literal;
      if (ts.isStringLiteral(literal)) add(literal.text, true);
    } else if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const isImport = node.expression.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire =
        (ts.isIdentifier(node.expression) && node.expression.text === 'require') ||
        // createRequire(import.meta.url)('autocannon')
        (ts.isCallExpression(node.expression) &&
          ts.isIdentifier(node.expression.expression) &&
          node.expression.expression.text === 'createRequire') ||
        (ts.isPropertyAccessExpression(node.expression) &&
          node.expression.name.text === 'resolve' &&
          /^(require|import\.meta)$/.test(node.expression.expression.getText(source)));
      if (isImport || isRequire) {
        const prefix = literalPrefix(node.arguments[0]!, source);
        add(prefix, false);
        if (isImport && (prefix === undefined || prefix === '')) computedImport = true;
      }
    } else if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === 'URL' &&
      node.arguments?.[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      // new URL('../node_modules/@octokit/webhooks-examples/…', import.meta.url) reads a package's file.
      const inModules = /(?:^|\/)node_modules\/(.+)$/.exec(node.arguments[0].text);
      if (inModules) add(inModules[1], false);
    } else if (ts.isStringLiteral(node)) {
      strings.add(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  // A file that computes an import() specifier (`${pkg}/${apiVersion}/${kind}`) names its packages
  // in strings: count each string that is exactly a package name, and nothing else.
  if (computedImport) {
    for (const text of strings) if (packageOf(text) === text) add(text, false, true);
  }
  return uses;
}

/**
 * The verdicts, given each root's imports. Pure: the unit test plants an import and reads them.
 */
export function checkDependencies(
  manifest: PackageManifest,
  production: readonly ImportUse[],
  development: readonly ImportUse[],
  tools: Readonly<Record<string, string>> = TOOLS,
): DependencyProblem[] {
  const deps = new Set(Object.keys(manifest.dependencies ?? {}));
  const devDeps = new Set(Object.keys(manifest.devDependencies ?? {}));
  const problems: DependencyProblem[] = [];
  const firstFile = new Map<string, string>();
  const usedAtRuntime = new Set<string>();
  const usedAtAll = new Set<string>();

  for (const use of [...production, ...development]) {
    const name = packageOf(use.specifier);
    if (name === undefined) continue;
    if (use.indirect && !deps.has(name) && !devDeps.has(name)) continue;
    usedAtAll.add(name);
    if (!firstFile.has(name)) firstFile.set(name, use.file);
  }
  for (const use of production) {
    const name = packageOf(use.specifier);
    if (name === undefined || use.typeOnly) continue;
    if (use.indirect && !deps.has(name)) continue;
    usedAtRuntime.add(name);
    if (!deps.has(name) && devDeps.has(name)) {
      problems.push({
        kind: 'dev-in-production',
        name,
        message: `${name} is imported by ${use.file} (shipped code) but is only a devDependency: npm prune --omit=dev removes it from the image`,
      });
    }
  }
  for (const name of usedAtAll) {
    if (!deps.has(name) && !devDeps.has(name)) {
      problems.push({
        kind: 'unlisted',
        name,
        message: `${name} is imported by ${firstFile.get(name)} but is not in package.json`,
      });
    }
  }
  for (const name of deps) {
    if (usedAtRuntime.has(name)) continue;
    problems.push(
      usedAtAll.has(name)
        ? {
            kind: 'misplaced',
            name,
            message: `${name} is a dependency but only tests, benchmarks or scripts import it (${firstFile.get(name)}): move it to devDependencies`,
          }
        : { kind: 'unused', name, message: `${name} is a dependency that nothing imports: remove it` },
    );
  }
  for (const name of devDeps) {
    if (usedAtAll.has(name) || Object.hasOwn(tools, name)) continue;
    problems.push({
      kind: 'unused',
      name,
      message: `${name} is a devDependency that nothing imports and no tool needs: remove it (or name its use in TOOLS)`,
    });
  }
  return dedupe(problems);
}

function dedupe(problems: DependencyProblem[]): DependencyProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.kind}:${p.name}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const SOURCE = /\.(?:[cm]?[jt]s|tsx)$/;

/** Source files under each root (a root may be a single file), skipping fixtures and build output. */
export function sourceFiles(repoDir: string, roots: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (relative: string): void => {
    const full = path.join(repoDir, relative);
    let entries;
    try {
      entries = readdirSync(full, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') {
        if (SOURCE.test(relative)) files.push(relative);
        return;
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      // Fixtures are recorded data, not code Shipgate runs.
      if (entry.name === 'node_modules' || entry.name === 'fixtures' || entry.name === 'dist') continue;
      const child = path.join(relative, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && SOURCE.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(child);
    }
  };
  for (const root of roots) walk(root);
  return files.sort();
}

export function checkRepository(repoDir: string): DependencyProblem[] {
  const manifest = JSON.parse(readFileSync(path.join(repoDir, 'package.json'), 'utf8')) as PackageManifest;
  const read = (roots: readonly string[]) =>
    sourceFiles(repoDir, roots).flatMap((file) =>
      importsOf(file, readFileSync(path.join(repoDir, file), 'utf8')),
    );
  return checkDependencies(manifest, read(PRODUCTION_ROOTS), read(DEVELOPMENT_ROOTS));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const repoDir = path.resolve(process.argv[2] ?? '.');
  const problems = checkRepository(repoDir);
  for (const problem of problems) console.error(`check-dependencies: ${problem.kind}: ${problem.message}`);
  if (problems.length > 0) process.exit(1);
  console.error('check-dependencies: every dependency is imported where it is declared');
}
