// End-to-end harness: the real all-in-one smelt binary (server and embedded worker) on a free port and a
// fresh Postgres database, a TCP proxy between client and server whose connections a test can
// cut, and a stub of an OpenAI-compatible provider whose answers a test can hold back.
//
// Environment:
//   SMELT_SERVER_BIN      the all-in-one binary, server and worker (default
//                         ${CARGO_TARGET_DIR:-<repo>/target}/debug/smelt)
//   SMELT_E2E_DATABASE    maintenance database; test databases smelt_client_<random> are made
//                         next to it (default postgres://postgres@127.0.0.1:5432/postgres)
//   SMELT_E2E_KEEP_LOGS   print the server's log when it stops
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const REPO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The server binary to run.
 * @returns {string} absolute path
 * @throws {Error} when it does not exist
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

/**
 * A database URL on the same Postgres as the maintenance URL.
 * @param {string} name database name
 * @returns {string}
 */
export function databaseUrl(name) {
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
 * Starts smelt on a free port with a fresh database (the server creates it and applies
 * its migrations) and an empty data directory, and waits until GET /readyz answers 200.
 * @param {Record<string, string>} [env] extra settings
 * @returns {Promise<{baseUrl: string, port: number, database: string, logs: () => string, stop: () => Promise<void>}>}
 * @throws {Error} when the server exits or is not ready within 90 s (its log is included)
 */
export async function startServer(env = {}) {
  const bin = serverBinary();
  const port = await freePort();
  const database = `smelt_client_${randomBytes(6).toString('hex')}`;
  const dataDir = await mkdtemp(join(tmpdir(), 'smelt-client-e2e-'));
  const webDir = join(dataDir, 'web');
  await mkdir(webDir);
  await writeFile(join(webDir, 'index.html'), '<!doctype html><title>Smelt</title>\n');
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
    SMELT_RATE_CREATE_PER_MIN: '1000',
    SMELT_RATE_WS_PER_MIN: '10000',
    SMELT_PROVIDER_MAX_ATTEMPTS: '1',
    SMELT_PROVIDER_TIMEOUT_SECS: '60',
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
  while (!ready && !gone && Date.now() < deadline) {
    try {
      ready = (await fetch(`${baseUrl}/readyz`)).status === 200;
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
 * A TCP proxy on 127.0.0.1 in front of `port`. Each client connection is recorded with the
 * head of its first request (`GET /api/smelts/…/ws?token=…&after_seq=3 HTTP/1.1` and the
 * header lines).
 * `cut()` destroys every open connection at once, like a network that drops; with
 * `refuseWebSockets` set, connections asking for a WebSocket upgrade are closed unanswered.
 * @param {number} port the server's port
 * @returns {Promise<{url: string, requests: string[], cut: () => number, refuseWebSockets: boolean, close: () => Promise<void>}>}
 */
export async function startProxy(port) {
  const open = new Set();
  const proxy = {
    url: '',
    requests: [],
    refuseWebSockets: false,
    cut() {
      const n = open.size;
      for (const pair of open) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      open.clear();
      return n;
    },
    close: () => {
      proxy.cut();
      return new Promise((ok) => server.close(() => ok()));
    },
  };
  const server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    const pair = { client, upstream };
    open.add(pair);
    const drop = () => {
      open.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.once('data', (first) => {
      const head = first.toString('latin1');
      proxy.requests.push(head.split('\r\n\r\n', 1)[0]);
      if (proxy.refuseWebSockets && /^upgrade:\s*websocket/im.test(head)) {
        drop();
        return;
      }
      upstream.write(first);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  return proxy;
}

/**
 * A stub of an OpenAI-compatible provider (the operator's, `SMELT_HOSTED_BASE_URL`) whose
 * chat completions wait until the test calls `release()`, so that a smelt stays in
 * `synthesizing` for as long as the test needs. `requested` settles when a chat completion
 * arrives; `hold()` holds the next ones back again.
 * @param {string} reply the notes every completion answers with (Markdown)
 * @returns {Promise<{baseUrl: string, requested: Promise<void>, release: () => void, hold: () => void, close: () => Promise<void>}>}
 */
export async function startHeldProvider(reply) {
  const stub = {
    baseUrl: '',
    requested: null,
    release: null,
    hold() {
      let arrived;
      stub.requested = new Promise((ok) => (arrived = ok));
      stub.released = new Promise((ok) => (stub.release = ok));
      stub.arrived = arrived;
    },
    close: () => {
      stub.release();
      server.closeAllConnections();
      return new Promise((ok) => server.close(() => ok()));
    },
  };
  stub.hold();
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      const send = (status, json) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        stub.arrived();
        await stub.released;
        return send(200, { id: 'stub', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: reply }, finish_reason: 'stop' }] });
      }
      if (req.method === 'GET' && req.url === '/v1/models') return send(200, { object: 'list', data: [{ id: 'stub-model', object: 'model' }] });
      return send(404, { error: { message: 'not found' } });
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  stub.baseUrl = `http://127.0.0.1:${server.address().port}/v1`;
  return stub;
}

/**
 * The seqs the server stored for a smelt, in order.
 * @param {string} database the test database's name
 * @param {string} smeltId
 * @returns {Promise<number[]>}
 */
export async function storedSeqs(database, smeltId) {
  const client = new pg.Client({ connectionString: databaseUrl(database) });
  await client.connect();
  try {
    const { rows } = await client.query('select seq from smelt_event where smelt_id = $1 order by seq', [smeltId]);
    return rows.map((r) => Number(r.seq));
  } finally {
    await client.end();
  }
}
