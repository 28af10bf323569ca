// End-to-end harness: the real all-in-one smelt binary (server and embedded worker) on a
// fresh Postgres database, and headless Chromium driven by playwright-core.
//
// Environment:
//   SMELT_SERVER_BIN      the all-in-one binary, server and worker (default:
//                         ${CARGO_TARGET_DIR:-<repo>/target}/debug/smelt)
//   SMELT_E2E_DATABASE    Postgres URL of the maintenance database used to
//                         drop test databases (default postgres://postgres@127.0.0.1:5432/postgres);
//                         test databases are smelt_web_<random> on the same server
//   SMELT_E2E_CHROMIUM    the browser (default /usr/bin/chromium)
//   SMELT_E2E_KEEP_LOGS   print the server's log even when a test passes
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before } from 'node:test';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { chromium } from 'playwright-core';
import { tempDir } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
/** web/ */
export const WEB_DIR = resolve(here, '..', '..');
const REPO_DIR = resolve(WEB_DIR, '..');
const SCREENSHOT_DIR = join(WEB_DIR, 'test-results', 'screenshots');

/**
 * The server binary to run.
 * @returns {string} absolute path
 * @throws {Error} when it does not exist (build it with `cargo build --bin smelt`)
 */
export function serverBinary() {
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO_DIR, process.env.CARGO_TARGET_DIR) : join(REPO_DIR, 'target');
  const bin = process.env.SMELT_SERVER_BIN ? resolve(process.env.SMELT_SERVER_BIN) : join(target, 'debug', 'smelt');
  if (!existsSync(bin)) throw new Error(`no server binary at ${bin}: build it (cargo build --bin smelt) or set SMELT_SERVER_BIN`);
  return bin;
}

function maintenanceUrl() {
  return process.env.SMELT_E2E_DATABASE || 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** A database URL on the same Postgres as the maintenance URL. */
function databaseUrl(name) {
  const url = new URL(maintenanceUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A TCP port nobody listens on right now.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

async function dropDatabase(name) {
  const client = new pg.Client({ connectionString: maintenanceUrl() });
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await client.end();
  }
}

/**
 * @typedef {object} RunningServer
 * @property {string} baseUrl e.g. http://127.0.0.1:41234
 * @property {number} port
 * @property {string} database the database name
 * @property {() => string} logs everything the server printed so far
 * @property {() => Promise<void>} stop SIGTERM (SIGKILL after 10 s), drop the database, remove the data directory
 */

/**
 * Starts smelt on a free port with a fresh database, and waits until
 * GET /readyz answers 200 (database, LISTEN connection and queue ready).
 * Rate limits are raised so tests are not throttled; X-Forwarded-For from
 * 127.0.0.1 is believed, so each browser context can be its own visitor.
 * @param {Record<string, string>} [env] extra settings (override the defaults)
 * @returns {Promise<RunningServer>}
 * @throws {Error} when the server exits or is not ready within 90 s (its log is included)
 */
export async function startServer(env = {}) {
  const bin = serverBinary();
  const port = await freePort();
  const database = `smelt_web_${randomBytes(6).toString('hex')}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'smelt-web-e2e-'));
  const webDir = join(WEB_DIR, 'dist');
  if (!existsSync(join(webDir, 'index.html'))) throw new Error('web/dist is missing: run npm run build first');

  const childEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.XDG_CACHE_HOME ? { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME } : {}),
    ...(process.env.SMELT_MODELS_DIR ? { SMELT_MODELS_DIR: process.env.SMELT_MODELS_DIR } : {}),
    DATABASE_URL: databaseUrl(database),
    SMELT_BIND: `127.0.0.1:${port}`,
    SMELT_DATA_DIR: dataDir,
    SMELT_WEB_DIR: webDir,
    SMELT_EMBEDDED_WORKERS: '1',
    SMELT_TRUSTED_PROXIES: '127.0.0.1',
    SMELT_RATE_CREATE_PER_MIN: '1000',
    SMELT_RATE_LOGIN_PER_MIN: '1000',
    SMELT_RATE_WS_PER_MIN: '10000',
    // Providers in tests are local stubs: fail fast instead of retrying for minutes.
    SMELT_PROVIDER_MAX_ATTEMPTS: '1',
    SMELT_PROVIDER_TIMEOUT_SECS: '20',
    // The stub providers listen on loopback over plain http, which the outbound guard
    // allows only for listed hosts.
    SMELT_PROVIDER_ALLOWED_HOSTS: '127.0.0.1',
    RUST_LOG: 'info',
    ...env,
  };
  // The server reads a .env in its working directory: run it in the empty data directory.
  const child = spawn(bin, [], { cwd: dataDir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise((ok) => child.once('exit', (code, signal) => ok({ code, signal })));
  let gone = null;
  exited.then((e) => (gone = e));

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let ready = false;
  while (!ready) {
    if (gone) break;
    if (Date.now() > deadline) break;
    try {
      const res = await fetch(`${baseUrl}/readyz`);
      ready = res.status === 200;
    } catch {
      /* not listening yet */
    }
    // Poll the real condition again shortly; the loop ends on readiness, exit or the deadline.
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }

  const stop = async () => {
    if (!gone) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    if (process.env.SMELT_E2E_KEEP_LOGS) process.stderr.write(`--- server log (${database})\n${log}\n`);
    await dropDatabase(database).catch((e) => process.stderr.write(`could not drop ${database}: ${e.message}\n`));
    await rm(dataDir, { recursive: true, force: true });
  };

  if (!ready) {
    await stop();
    throw new Error(`smelt not ready (${gone ? `exited ${JSON.stringify(gone)}` : 'timeout'}):\n${log}`);
  }
  return { baseUrl, port, database, logs: () => log, stop };
}

/**
 * Launches the system Chromium (never a downloaded one).
 * @param {string[]} [args] extra switches (e.g. a fake microphone)
 * @returns {Promise<import('playwright-core').Browser>}
 */
export function launchBrowser(args = []) {
  return chromium.launch({
    executablePath: process.env.SMELT_E2E_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage', ...args],
  });
}

let visitor = 0;

/**
 * A client address of its own for each browser context, sent as
 * X-Forwarded-For (believed from 127.0.0.1 by the test server): anonymous
 * visitors get one smelt per day per address.
 * @returns {string}
 */
export function nextVisitorAddress() {
  visitor++;
  return `10.${randomBytes(1)[0]}.${Math.floor(visitor / 250)}.${(visitor % 250) + 1}`;
}

/**
 * Test names to file names: "a b/c" -> "a-b-c".
 * @param {string} name
 * @returns {string}
 */
export function slug(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 100);
}

/**
 * Registers the `before`/`after` hooks of a suite that shares one server, one
 * browser and one scratch directory, and returns the object holding them once
 * `before` has run. Pass it to {@link withPage} as `{ ...suite, name }`.
 * @param {object} [o]
 * @param {Record<string, string>} [o.env] server settings (see {@link startServer})
 * @param {string[]} [o.browserArgs] extra Chromium switches
 * @returns {{server?: RunningServer, browser?: import('playwright-core').Browser, dir?: string}}
 */
export function sharedSuite({ env = {}, browserArgs = [] } = {}) {
  const suite = {};
  before(async () => {
    [suite.server, suite.browser, suite.dir] = await Promise.all([startServer(env), launchBrowser(browserArgs), tempDir()]);
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
    if (suite.dir) await rm(suite.dir, { recursive: true, force: true });
  });
  return suite;
}

/**
 * Runs a test body in a fresh browser context (its own visitor address,
 * storage and cookies), saves a screenshot of the final state to
 * web/test-results/screenshots/<test-name>.png (also after a failure), and
 * closes the context. On failure the page's console and the server's log
 * tail are printed.
 * @param {object} o
 * @param {import('playwright-core').Browser} o.browser
 * @param {RunningServer} o.server
 * @param {string} o.name test name (screenshot file name)
 * @param {import('playwright-core').BrowserContextOptions} [o.contextOptions]
 * @param {(p: {page: import('playwright-core').Page, context: import('playwright-core').BrowserContext, address: string}) => Promise<void>} fn
 * @returns {Promise<void>}
 */
export async function withPage({ browser, server, name, contextOptions = {} }, fn) {
  const address = nextVisitorAddress();
  const context = await browser.newContext({
    baseURL: server.baseUrl,
    extraHTTPHeaders: { 'X-Forwarded-For': address },
    viewport: { width: 1280, height: 900 },
    ...contextOptions,
  });
  context.setDefaultTimeout(30_000);
  const page = await context.newPage();
  const consoleLines = [];
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
  let failed = true;
  try {
    await fn({ page, context, address });
    failed = false;
  } finally {
    await mkdir(SCREENSHOT_DIR, { recursive: true });
    const pages = context.pages();
    const last = pages[pages.length - 1] || page;
    await last.screenshot({ path: join(SCREENSHOT_DIR, `${slug(name)}.png`), fullPage: true }).catch(() => {});
    if (failed) {
      process.stderr.write(`--- page console (${name})\n${consoleLines.join('\n')}\n`);
      process.stderr.write(`--- server log tail\n${server.logs().slice(-6000)}\n`);
    }
    await context.close();
  }
}
