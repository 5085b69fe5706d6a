import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git } from '../../sandbox/demo-world.js';
import { collectPageErrors, launchChromium, seriousAxeViolations } from './support/chromium.js';
import { CONSOLE_POLICY, PEOPLE, startConsoleStack, type ConsoleStack } from './support/console-stack.js';

/**
 * The web console in real Chromium, against Shipgate as `shipgate start` runs it with the
 * sandbox stand-ins. The scenarios follow one release in order, as people would: the releaser
 * signs in and watches it, cannot approve it, a viewer can neither approve nor roll back, the
 * approver approves it, production shows it, an operator rolls production back with a reason,
 * and the audit trail shows who did what. Every page passes axe-core with no serious or
 * critical violation, and the runs, run and environments pages are photographed for the docs.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const IMAGES = path.join(ROOT, 'docs/images');

let stack: ConsoleStack;
let browser: Browser;
const contexts: BrowserContext[] = [];
const errors: string[] = [];
let releaseRunId = '';

beforeAll(async () => {
  // The console as the sources are now, into the folder `shipgate serve` reads.
  await build({ configFile: path.join(ROOT, 'web/vite.config.ts'), logLevel: 'silent' });
  [stack, browser] = await Promise.all([startConsoleStack(), launchChromium()]);
  mkdirSync(IMAGES, { recursive: true });
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await stack?.close();
});

async function pageFor(viewport = { width: 1280, height: 900 }): Promise<Page> {
  const context = await browser.newContext({ viewport, baseURL: stack.base, reducedMotion: 'reduce' });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const seen = collectPageErrors(page);
  page.on('close', () => errors.push(...seen.filter((e) => !/Failed to load resource/.test(e))));
  // Denials answer 401/403/409 on purpose; anything else the console logs is a fault.
  return page;
}

/** Signs in with GitHub: the console's button, the stand-in's authorize page, back to the console. */
async function signIn(page: Page, login: string): Promise<void> {
  await page.goto('/');
  await page.getByRole('link', { name: 'Sign in with GitHub' }).click();
  await page.getByLabel('Username or email address').fill(login);
  await page.getByRole('button', { name: 'Authorize' }).click();
  await page.waitForURL(`${stack.base}/`);
  await eventually(() => page.getByTestId('login').textContent()).toBe(login);
}

/** Waits for the page to get there: live pages change on their own, a little later. */
function eventually<T>(read: () => Promise<T> | T, options: { timeout?: number } = {}) {
  return expect.poll(read, { timeout: options.timeout ?? 15_000, interval: 100 });
}

async function expectAccessible(page: Page, what: string): Promise<void> {
  const violations = await seriousAxeViolations(page);
  expect(violations, `${what}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
}

async function signedIn(login: string, viewport?: { width: number; height: number }): Promise<Page> {
  const page = await pageFor(viewport);
  await signIn(page, login);
  return page;
}

/** On the approvals page: comment, Approve, and the page's confirmation. */
async function approveInPage(page: Page, runId: string, comment: string): Promise<void> {
  await page.getByRole('link', { name: 'Approvals' }).click();
  const card = page.locator(`li[data-run-id="${runId}"]`);
  await card.getByLabel('Comment').fill(comment);
  await card.getByRole('button', { name: 'Approve' }).click();
  await eventually(() => page.getByText(/Approved: web/).count()).toBe(1);
}

async function apiPost(page: Page, url: string, body: unknown): Promise<{ status: number; code?: string }> {
  // From inside the page: the session cookie and the CSRF token, as the console itself sends them.
  return page.evaluate(
    `(async () => {
      const me = await (await fetch('/api/me')).json();
      const res = await fetch(${JSON.stringify(url)}, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrfToken }, body: ${JSON.stringify(JSON.stringify(body))} });
      const json = await res.json().catch(() => ({}));
      return { status: res.status, code: json.error && json.error.code };
    })()`,
  );
}

describe('the web console in Chromium', () => {
  let releaser: Page;

  it('signs in through GitHub (the OAuth stand-in)', async () => {
    const page = await pageFor();
    await page.goto('/');
    await eventually(() => page.getByRole('link', { name: 'Sign in with GitHub' }).count()).toBe(1);
    await expectAccessible(page, 'sign-in page');
    await signIn(page, PEOPLE.releaser.login);
    await eventually(() => page.getByRole('heading', { name: 'Runs' }).count()).toBe(1);
    await expectAccessible(page, 'runs page');
    releaser = page;
  });

  it('shows a release moving through its stages without a reload', async () => {
    const page = releaser;
    await page.evaluate('window.__sameDocument = true');
    await eventually(() => page.locator('.live-live').count()).toBe(1);
    await stack.release('v1.0.0');
    const row = page.locator('tr', { has: page.getByRole('link', { name: 'v1.0.0', exact: true }) });
    const seen: string[] = [];
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const state = await row
        .locator('.badge')
        .getAttribute('data-state', { timeout: 1000 })
        .catch(() => null);
      if (state && seen.at(-1) !== state) seen.push(state);
      if (state === 'awaiting-approval') break;
      await page.waitForTimeout(100);
    }
    expect(seen.at(-1), seen.join(' → ')).toBe('awaiting-approval');
    expect(
      seen.some((s) => ['gating', 'deploying', 'verifying'].includes(s)),
      seen.join(' → '),
    ).toBe(true);
    expect(await page.evaluate('window.__sameDocument')).toBe(true);
    releaseRunId = (await row.getAttribute('data-run-id')) ?? '';
    expect(releaseRunId).toMatch(/^[0-9A-Z]{26}$/);
  });

  it('refuses the releaser’s own approval, in the page and through the API', async () => {
    const page = releaser;
    await page.getByRole('link', { name: 'Approvals' }).click();
    const card = page.locator(`li[data-run-id="${releaseRunId}"]`);
    const approve = card.getByRole('button', { name: 'Approve' });
    await eventually(() => approve.isDisabled()).toBe(true);
    await eventually(() => card.locator('.why-not').textContent()).toMatch(/You cannot decide: .*releas/i);
    await expectAccessible(page, 'approvals page (releaser)');
    const denied = await apiPost(page, `/api/runs/${releaseRunId}/approvals`, {
      env: 'production',
      decision: 'approve',
    });
    expect(denied.status).toBe(403);
  });

  it('lets a viewer look, but neither approve nor roll back', async () => {
    const page = await signedIn(PEOPLE.viewer.login);
    await page.getByRole('link', { name: 'Approvals' }).click();
    await page.getByRole('heading', { name: 'Approvals' }).waitFor();
    // Loaded: either the waiting releases (with Approve refused) or the empty list.
    await eventually(() =>
      page.locator('li.approval').or(page.getByText('Nothing waits')).count(),
    ).toBeGreaterThan(0);
    expect(await page.getByRole('button', { name: 'Approve', disabled: false }).count()).toBe(0);
    await page.goto('/rollback?app=web&env=production');
    await eventually(() => page.getByText(/You are not an operator of production/).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Confirm rollback' }).isDisabled()).toBe(true);
    await expectAccessible(page, 'rollback page (viewer)');
    const approve = await apiPost(page, `/api/runs/${releaseRunId}/approvals`, {
      env: 'production',
      decision: 'approve',
    });
    expect(approve.status).toBe(403);
    const rollback = await apiPost(page, '/api/rollbacks', {
      app: 'web',
      env: 'production',
      reason: 'a viewer tries',
    });
    expect(rollback.status).toBe(403);
  });

  it('lets the approver approve with a comment, and the run go on to production', async () => {
    const page = await signedIn(PEOPLE.approver.login);
    // Markup in a comment is text: the timeline shows it as typed and renders no element.
    const comment = 'Staging looks right; ship <em>it</em>.';
    await approveInPage(page, releaseRunId, comment);
    await page.goto(`/runs/${releaseRunId}`);
    const state = page.locator('.page-head .badge');
    await eventually(() => state.getAttribute('data-state'), { timeout: 60_000 }).toBe('succeeded');
    await eventually(() => page.getByText(/approved/i).count()).toBeGreaterThan(0);
    const approval = page.locator('tr[data-stage="approval:production"]');
    await eventually(() => approval.textContent()).toContain(`“${comment}”`);
    expect(await page.locator('main em').count()).toBe(0);
    await expectAccessible(page, 'run page');
    await page.screenshot({ path: path.join(IMAGES, 'console-run.png'), fullPage: true });
  });

  it('shows each gate’s last output and links it to its own check run', async () => {
    const page = await signedIn(PEOPLE.viewer.login);
    await page.goto(`/runs/${releaseRunId}`);
    const tests = page.locator('li[data-gate="tests"]');
    await tests.waitFor();
    // The end of the app's test output (the demo's run-tests.sh), as text in a <pre>.
    expect(await tests.locator('pre.log').textContent()).toContain('all 3 tests passed');
    // Every gate the run has (the demo's pipeline: tests and Trivy; ZAP when it scans a preview).
    const gates = await page
      .locator('li[data-gate]')
      .evaluateAll((cards) => cards.map((c) => c.getAttribute('data-gate') ?? ''));
    expect(gates).toEqual(expect.arrayContaining(['tests', 'trivy']));
    for (const gate of gates) {
      const link = page
        .locator(`li[data-gate="${gate}"]`)
        .getByRole('link', { name: `shipgate/${gate} check run` });
      // Its own check run as GitHub named it (html_url), not the commit's checks page.
      expect(await link.getAttribute('href'), gate).toMatch(
        /^https:\/\/github\.example\/acme\/web\/runs\/\d+$/,
      );
    }
    const hrefs = await page
      .locator('li[data-gate] a[data-external]')
      .evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    expect(new Set(hrefs).size).toBe(hrefs.length);
  });

  it('shows the release live in production in the environments matrix', async () => {
    const page = await signedIn(PEOPLE.approver.login);
    // By keyboard: the skip link first, then the console's navigation.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    await page.getByRole('link', { name: 'Environments' }).focus();
    await page.keyboard.press('Enter');
    const cell = page.locator('td[data-app="web"][data-env="production"]');
    await eventually(() => cell.locator('.version').textContent()).toBe('v1.0.0');
    await expectAccessible(page, 'environments page');

    // A second release, so production has an earlier good version to go back to.
    await stack.release('v1.1.0');
    const waiting = await stack.waitForRun(
      (r) => r.tag === 'v1.1.0',
      (r) => r.state === 'awaiting-approval' || r.state === 'failed',
    );
    expect(waiting.state).toBe('awaiting-approval');
    await approveInPage(page, waiting.id, 'Second release.');
    // The matrix follows the run feed: no reload.
    await page.getByRole('link', { name: 'Environments' }).click();
    await eventually(() => cell.locator('.version').textContent(), { timeout: 60_000 }).toBe('v1.1.0');
  });

  it('lets an operator roll production back, with a reason', async () => {
    const page = await signedIn(PEOPLE.operator.login);
    await page.goto('/rollback?app=web&env=production');
    await page.getByRole('radio', { name: /v1\.0\.0/ }).check();
    await page.getByLabel('Manifest diff').waitFor();
    expect(await page.getByLabel('Manifest diff').textContent()).toContain('v1.0.0');
    await page.getByLabel(/^Reason/).fill('v1.1.0 doubles the checkout latency');
    await expectAccessible(page, 'rollback page (operator)');
    await page.getByRole('button', { name: 'Confirm rollback' }).click();
    await page.getByRole('link', { name: 'Follow the rollback run' }).click();
    const state = page.locator('.page-head .badge');
    await eventually(() => state.getAttribute('data-state'), { timeout: 60_000 }).toBe('succeeded');

    await page.getByRole('link', { name: 'Environments' }).click();
    const cell = page.locator('td[data-app="web"][data-env="production"]');
    await eventually(() => cell.locator('.version').textContent()).toBe('v1.0.0');
    await page.screenshot({ path: path.join(IMAGES, 'console-environments.png'), fullPage: true });
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByRole('link', { name: 'v1.1.0', exact: true }).waitFor();
    await page.screenshot({ path: path.join(IMAGES, 'console-runs.png') });
  });

  it('lets an operator break glass during a freeze of staging, and the audit page shows it', async () => {
    // Staging frozen from now on, in the platform policy on the env repo's main branch (on
    // top of the commits Shipgate pushed there since).
    git(stack.world.env.work, ['pull', '-q', '--rebase', 'origin', 'main']);
    stack.world.env.commit(
      {
        'shipgate/policy.yml': CONSOLE_POLICY.replace(
          '    namespace: web-staging\n',
          "    namespace: web-staging\n    freezeWindows:\n      - { start: '2000-01-01 00:00', end: '2099-01-01 00:00', timeZone: UTC, reason: 'browser-test freeze' }\n",
        ),
      },
      'platform policy: freeze staging',
    );
    const page = await signedIn(PEOPLE.operator.login);
    // The server reads the policy again within seconds: until then a rollback is not frozen.
    // Asked with a version that does not exist, so nothing rolls back while it waits.
    await eventually(
      async () =>
        (
          await apiPost(page, '/api/rollbacks', {
            app: 'web',
            env: 'staging',
            to: 'v0.0.404',
            reason: 'probe',
          })
        ).code,
      { timeout: 30_000 },
    ).toBe('SHIPGATE_E_ROLLBACK_FROZEN');

    // Staging runs v1.1.0 (production was rolled back above, staging was not).
    await page.goto('/rollback?app=web&env=staging');
    await page.getByRole('radio', { name: /v1\.0\.0/ }).check();
    await page.getByLabel('Manifest diff').waitFor();
    await page.getByLabel(/^Reason/).fill('checkout errors during the freeze');
    await page.getByRole('button', { name: 'Confirm rollback' }).click();
    await page.getByLabel(/Break-glass reason/).fill('customers cannot pay: roll back now');
    await page.getByRole('button', { name: 'Break glass and roll back' }).click();
    await page.getByRole('link', { name: 'Follow the rollback run' }).waitFor();

    await page.getByRole('link', { name: 'Audit' }).click();
    const entry = page.locator('tr[data-kind="rollback"]', { hasText: 'checkout errors during the freeze' });
    await eventually(() => entry.count()).toBeGreaterThan(0);
    expect(await entry.first().locator('.break-glass').textContent()).toContain('break-glass');
    expect(await entry.first().textContent()).toContain(PEOPLE.operator.login);
    await expectAccessible(page, 'audit page (break-glass)');
  });

  it('shows the audit trail: who approved and who rolled back', async () => {
    const page = await signedIn(PEOPLE.operator.login);
    await page.getByRole('link', { name: 'Audit' }).click();
    const approval = page.locator('tr[data-kind="approval"]', { hasText: PEOPLE.approver.login });
    const rollback = page.locator('tr[data-kind="rollback"]', { hasText: PEOPLE.operator.login });
    await eventually(() => approval.count()).toBeGreaterThan(0);
    await eventually(() => rollback.count()).toBeGreaterThan(0);
    expect(await rollback.first().textContent()).toContain('v1.1.0 doubles the checkout latency');
    await expectAccessible(page, 'audit page');
  });

  it('fits a phone: no page wider than the screen', async () => {
    const page = await signedIn(PEOPLE.approver.login, { width: 390, height: 844 });
    for (const route of [
      '/',
      `/runs/${releaseRunId}`,
      '/environments',
      '/approvals',
      '/rollback',
      '/audit',
    ]) {
      await page.goto(route);
      await page.locator('main h1').waitFor();
      const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
      expect(overflow, route).toBeLessThanOrEqual(0);
    }
  });

  it('logged no script error and no CSP refusal', async () => {
    for (const context of contexts) for (const p of context.pages()) await p.close();
    expect(errors).toEqual([]);
  });
});
