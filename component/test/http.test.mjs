// Runs the wasi:http/proxy component in two real component hosts, `jco serve` (jco's wasi:http on
// Node's HTTP server) and `wasmtime serve` (the reference implementation, pinned and built by
// `scripts/setup.sh wasmtime`), in front of the vectors' upstream on 127.0.0.1: every decision
// vector over HTTP (one build per vector file, its policy embedded, served by both hosts), then
// bodies, requests and failures in each host.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, check, decisionFiles, request, startUpstream } from '../../npm/test/harness.mjs';

const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const JCO = join(ROOT, 'component', 'node_modules', '@bytecodealliance', 'jco', 'dist', 'jco.js');
const WASMTIME = join(ROOT, '.tools', 'bin', 'wasmtime');
const BUILD = join(ROOT, 'component', 'http', 'build.sh');
const REQUIRED = process.env.CI === 'true';
const work = mkdtempSync(join(tmpdir(), 'corsguard-http-'));
const large = Buffer.alloc(3 << 20, 0).map((_, i) => (i * 7) % 253);
let upstream;

/**
 * Each host: how it serves a component on a port (in its own process group), and whether it
 * applies a request's first-byte timeout (jco's wasi:http takes the option and never acts on it).
 */
const HOSTS = [
  { name: 'jco serve', binary: JCO, timesOut: false, command: (wasm, port) => [NODE, [JCO, 'serve', wasm, '--host', '127.0.0.1', '--port', String(port)]] },
  { name: 'wasmtime serve', binary: WASMTIME, timesOut: true, command: (wasm, port) => [WASMTIME, ['serve', '--addr', `127.0.0.1:${port}`, wasm]] },
];

/** `false`, or why a host's tests are skipped; under CI=true a missing host fails instead. */
function skip(host) {
  if (existsSync(host.binary)) return false;
  const message = `${host.name} is not installed (${host.binary}): run scripts/setup.sh portable wasmtime`;
  if (REQUIRED) throw new Error(`${message} (CI=true: a missing runtime is a failure)`);
  return message;
}

before(async () => {
  upstream = await startUpstream({ large });
});
after(async () => {
  await upstream.close();
  rmSync(work, { recursive: true, force: true });
});

const builds = new Map();

/**
 * Builds the component with `policy` embedded, in front of the test upstream, once per name;
 * `{ status, stderr, wasm }`.
 */
function build(policy, name, upstreamUrl = `http://127.0.0.1:${upstream.port}`, extraEnv = {}) {
  if (builds.has(name)) return builds.get(name);
  const policyFile = join(work, `${name}.json`);
  writeFileSync(policyFile, typeof policy === 'string' ? policy : JSON.stringify(policy));
  const wasm = join(work, `${name}.wasm`);
  const env = { ...process.env, CORSGUARD_POLICY: policyFile, CORSGUARD_UPSTREAM: upstreamUrl, ...extraEnv };
  const run = spawnSync('bash', [BUILD, wasm], { env, encoding: 'utf8', timeout: 600_000 });
  const built = { status: run.status, stderr: `${run.stderr}${run.error ?? ''}`, wasm };
  builds.set(name, built);
  return built;
}

const handedOut = new Set();

/** A free port never handed out before in this run (the kernel may offer a closed one again). */
async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const server = net.createServer().once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port } = server.address();
        server.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** `host` serving `wasm` on a free port; resolves once it accepts connections. `{ port, stop() }`. */
async function serve(host, wasm) {
  const port = await freePort();
  const [binary, args] = host.command(wasm, port);
  const child = spawn(binary, args, {
    detached: true, // jco serve runs the server in a child process: stop the whole group
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const stop = () => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const open = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => { socket.end(); resolve(true); }).once('error', () => resolve(false));
    });
    if (open) return { port, stop, stderr: () => stderr };
    if (child.exitCode !== null || Date.now() > deadline) {
      stop();
      throw new Error(`${host.name} did not start: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One HTTP exchange: `{ status, headers: [[name, value]], body: Buffer }`. */
function send(port, { method, path, host, headers }, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: [['Host', host], ...headers].flat(), timeout: 30_000 });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const pairs = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i], res.rawHeaders[i + 1]]);
        resolve({ status: res.statusCode, headers: pairs, body: Buffer.concat(chunks) });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

const has = (response, name, value) => response.headers.some(([n, v]) => n.toLowerCase() === name && v === value);

for (const host of HOSTS) {
  test(`every decision vector, over HTTP through ${host.name}`, { timeout: 1_200_000, skip: skip(host) }, async () => {
    const failures = [];
    let count = 0;
    for (const { file, policy, cases } of decisionFiles()) {
      const built = build(policy, file.replace('.json', ''));
      assert.equal(built.status, 0, `${file}: build failed\n${built.stderr}`);
      const server = await serve(host, built.wasm);
      try {
        for (const testCase of cases) {
          count += 1;
          const before = upstream.requests.length;
          const response = await send(server.port, request(testCase));
          const seen = { ...response, body: response.body.toString(), reachedUpstream: upstream.requests.length > before };
          failures.push(...check(testCase, seen).map((problem) => `${file} / ${testCase.name}: ${problem}`));
        }
      } finally {
        server.stop();
      }
    }
    assert.ok(count >= 50, `only ${count} cases`);
    assert.deepEqual(failures, []);
  });

  test(`${host.name}: bodies stream both ways; method, path and query reach the upstream; a dead upstream is a 502`, { timeout: 600_000, skip: skip(host) }, async () => {
    const policy = { origins: ['https://app.example.com'], routes: [{ path_prefix: '/internal/', disabled: true }] };
    const built = build(policy, 'proxy');
    const dead = build(policy, 'dead-upstream', `http://127.0.0.1:${await freePort()}`);
    assert.equal(built.status, 0, built.stderr);
    assert.equal(dead.status, 0, dead.stderr);
    const server = await serve(host, built.wasm);
    try {
      const upload = large.subarray(0, 200_000);
      for (const path of ['/api/items?x=1&y=%20', '/internal/items?z']) {
        const before = upstream.requests.length;
        const response = await send(server.port, {
          method: 'POST', path, host: 'api.test', headers: [['Origin', 'https://app.example.com'], ['X-Custom', 'kept']],
        }, upload);
        assert.equal(response.status, 200, path);
        assert.equal(upstream.requests.length, before + 1, path);
        const seen = upstream.requests.at(-1);
        assert.equal(seen.method, 'POST');
        assert.equal(seen.url, path);
        assert.equal(seen.headers['x-custom'], 'kept');
        assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
        assert.ok(seen.body.equals(upload), `${path}: the request body arrived altered (${seen.body.length} bytes)`);
      }
      // A request without a body goes on without one: not as an empty chunked body.
      for (const method of ['GET', 'OPTIONS', 'DELETE']) {
        await send(server.port, { method, path: '/api/empty', host: 'api.test', headers: [['Origin', 'https://other.example']] });
        const seen = upstream.requests.at(-1);
        assert.equal(seen.headers['transfer-encoding'], undefined, `${method}: ${JSON.stringify(seen.headers)}`);
        assert.equal(seen.body.length, 0, method);
      }
      // Each of those denials is one line of the core's JSON on the host's log stream.
      const denials = () => [...server.stderr().matchAll(/\{"corsguard":"denial".*\}/g)].map(([line]) => JSON.parse(line));
      for (let waited = 0; denials().length < 3 && waited < 5000; waited += 100) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(denials(), Array(3).fill({
        corsguard: 'denial', kind: 'actual', reason: 'origin-not-allowed', mode: 'enforce', route: '', origin: 'https://other.example',
      }));
      const download = await send(server.port, { method: 'GET', path: '/large', host: 'api.test', headers: [['Origin', 'https://app.example.com']] });
      assert.equal(download.status, 200);
      assert.ok(download.body.equals(large), `the response body arrived altered (${download.body.length} bytes)`);
      assert.ok(has(download, 'access-control-allow-origin', 'https://app.example.com'));
    } finally {
      server.stop();
    }
    const unreachable = await serve(host, dead.wasm);
    try {
      const answer = await send(unreachable.port, { method: 'GET', path: '/api/x', host: 'api.test', headers: [['Origin', 'https://app.example.com']] });
      assert.equal(answer.status, 502);
      // With the decision's CORS headers: the page sees the real status, not a CORS error.
      assert.ok(has(answer, 'access-control-allow-origin', 'https://app.example.com'));
      const preflight = await send(unreachable.port, { method: 'OPTIONS', path: '/api/x', host: 'api.test', headers: [
        ['Origin', 'https://app.example.com'], ['Access-Control-Request-Method', 'GET']] });
      assert.equal(preflight.status, 204, 'preflights are answered without the upstream');
    } finally {
      unreachable.stop();
    }
  });
}

for (const host of HOSTS) {
  const outcome = host.timesOut ? 'is a 504 with CORS headers' : 'is still awaited (the host has no first-byte timeout)';
  test(`${host.name}: an upstream slower than CORSGUARD_UPSTREAM_TIMEOUT ${outcome}`, { timeout: 600_000, skip: skip(host) }, async () => {
    const policy = { origins: ['https://app.example.com'] };
    const built = build(policy, 'timeout', undefined, { CORSGUARD_UPSTREAM_TIMEOUT: '0.5' });
    assert.equal(built.status, 0, built.stderr);
    const server = await serve(host, built.wasm);
    try {
      for (const [origin, allowed] of [['https://app.example.com', true], ['https://evil.example', false]]) {
        const slow = await send(server.port, { method: 'GET', path: '/slow/x', host: 'api.test', headers: [['Origin', origin]] });
        assert.equal(slow.status, host.timesOut ? 504 : 200, origin);
        if (host.timesOut) assert.equal(slow.body.length, 0);
        assert.equal(has(slow, 'access-control-allow-origin', origin), allowed, origin);
        assert.ok(slow.headers.some(([n, v]) => n.toLowerCase() === 'vary' && /\bOrigin\b/.test(v)), origin);
      }
      const fast = await send(server.port, { method: 'GET', path: '/api/x', host: 'api.test', headers: [['Origin', 'https://app.example.com']] });
      assert.equal(fast.status, 200, 'an upstream that answers in time is relayed');
    } finally {
      server.stop();
    }
  });
}

test('a policy with errors never becomes a component: the build lists every problem', { timeout: 600_000 }, () => {
  const refused = build({ origins: ['https://example.com/', 'https://*.com'] }, 'refused');
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /error\[trailing-slash\]: origins\[0\]: .*trailing slash/);
  assert.match(refused.stderr, /error\[top-level-wildcard\]: origins\[1\]: .*top-level domain/);
  const badUpstream = build({ origins: ['https://app.example.com'] }, 'bad-upstream', 'ftp://127.0.0.1:1/x');
  assert.notEqual(badUpstream.status, 0);
  assert.match(badUpstream.stderr, /CORSGUARD_UPSTREAM "ftp:\/\/127.0.0.1:1\/x"/);
  const badTimeout = build({ origins: ['https://app.example.com'] }, 'bad-timeout', undefined, { CORSGUARD_UPSTREAM_TIMEOUT: '30s' });
  assert.notEqual(badTimeout.status, 0);
  assert.match(badTimeout.stderr, /CORSGUARD_UPSTREAM_TIMEOUT "30s": give a number of seconds/);
});
