/**
 * A real browser for the console tests: Debian's Chromium (/usr/bin/chromium)
 * driven by puppeteer-core, headless, with a fresh profile per launch and no
 * background networking (the machine has no network beyond loopback).
 * Nothing downloads a browser.
 *
 * `consoleSession` logs in through the login form and collects what a test
 * must assert never happened: JavaScript dialogs (an XSS payload's alert),
 * CSP violations and page errors. `shot` saves a screenshot under
 * test-artifacts/console/ (kept by CI as an artifact, ignored by git).
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { after, before } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/console/', import.meta.url));

export interface BrowserHandle {
  browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<BrowserHandle> {
  const profile = mkdtempSync(join(tmpdir(), 'hm-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
      '--disable-extensions',
    ],
    defaultViewport: { width: 1280, height: 900 },
  });
  return {
    browser,
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * One browser for all the tests of a file, launched before the first and
 * closed after the last (a launch costs seconds). Call it at the file's top
 * level; call the function it returns inside a test. Tests stay isolated:
 * each `consolePage` opens its own browser context (cookies, storage).
 */
export function browserPerFile(): () => BrowserHandle {
  let handle: BrowserHandle | undefined;
  before(async () => {
    handle = await launchBrowser();
  });
  after(async () => {
    await handle?.close();
  });
  return () => {
    if (!handle) throw new Error('the browser was not launched (browserPerFile must be called at the top level of the file)');
    return handle;
  };
}

export interface ConsolePage {
  page: Page;
  base: string;
  /** Dialogs the page opened (alert, confirm, prompt), with their text: an XSS would show here. */
  dialogs: string[];
  /** CSP violations and uncaught page errors. */
  problems: string[];
  /** Confirms the next confirm() dialogs with this answer (default true). */
  answerConfirm: boolean;
  goto(path: string): Promise<number>;
  shot(name: string): Promise<string>;
}

/** A page on the console; logged in with `key` when given. */
export async function consolePage(b: BrowserHandle, apiPort: number, key?: string): Promise<ConsolePage> {
  const context = await b.browser.createBrowserContext();
  const page = await context.newPage();
  const base = `http://127.0.0.1:${apiPort}`;
  const cp: ConsolePage = {
    page,
    base,
    dialogs: [],
    problems: [],
    answerConfirm: true,
    async goto(path) {
      const r = await page.goto(`${base}${path}`, { waitUntil: 'load' });
      return r?.status() ?? 0;
    },
    async shot(name) {
      mkdirSync(ARTIFACTS, { recursive: true });
      const file = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file as `${string}.png`, fullPage: true });
      return file;
    },
  };
  page.on('dialog', async (d) => {
    if (d.type() === 'confirm' && cp.answerConfirm) {
      await d.accept();
      return;
    }
    cp.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  page.on('pageerror', (e) => cp.problems.push(`page error: ${e instanceof Error ? e.message : String(e)}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) cp.problems.push(`csp: ${m.text()}`);
  });
  if (key !== undefined) await login(cp, key);
  return cp;
}

/** Logs in through the form; resolves to the path the browser landed on. */
export async function login(cp: ConsolePage, key: string): Promise<string> {
  await cp.goto('/login');
  await cp.page.type('#key', key);
  await Promise.all([cp.page.waitForNavigation({ waitUntil: 'load' }), cp.page.click('form[action="/login"] button[type="submit"]')]);
  return new URL(cp.page.url()).pathname;
}

/** Waits until the text appears in the selector's text. */
export async function waitForText(page: Page, selector: string, text: string | RegExp, timeout = 10_000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const got = await page.$eval(selector, (e) => e.textContent ?? '').catch(() => '');
    if (typeof text === 'string' ? got.includes(text) : text.test(got)) return;
    if (Date.now() > deadline) throw new Error(`"${selector}" never showed ${String(text)}; it shows: ${got.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Clears a field and types into it (typing, not setting the value, is what a page's input listeners see). */
export async function typeInto(cp: ConsolePage, selector: string, text: string): Promise<void> {
  await cp.page.$eval(selector, (e) => ((e as HTMLInputElement).value = ''));
  await cp.page.type(selector, text);
}

/** Clicks a submit button and waits for the form's answer (or for the page it leads to). */
export async function submitAndNavigate(cp: ConsolePage, selector: string): Promise<void> {
  await Promise.all([cp.page.waitForNavigation({ waitUntil: 'load', timeout: 15_000 }), cp.page.click(selector)]);
}
