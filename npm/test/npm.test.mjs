// The npm package (npm/pkg, built by npm/build.sh) in Node: every conformance vector through
// `policy.evaluate` and through the Fetch helper `withCors`, whose wrapped handler is the
// vectors' upstream; then what the helper promises beyond the vectors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Policy, PolicyError, requestView, withCors } from '../pkg/node.js';
import {
  ROOT, UPSTREAM_BODY, UPSTREAM_HEADERS, check, checkDenial, checkLogged, checkValidation, decisionFiles, installPacked,
  logged, request, validationCases,
} from './harness.mjs';

const lines = (headers) => [...headers];

/** The vectors' upstream as a Fetch handler, counting its calls. */
function upstream() {
  const handler = async () => {
    handler.calls += 1;
    return new Response(UPSTREAM_BODY, { status: 200, headers: UPSTREAM_HEADERS });
  };
  handler.calls = 0;
  return handler;
}

const fetchRequest = (testCase) => {
  const r = request(testCase);
  return new Request(`http://${r.host}${r.path}`, { method: r.method, headers: r.headers });
};

test('every decision vector, through policy.evaluate', () => {
  const failures = [];
  let count = 0;
  for (const { file, policy: json, cases } of decisionFiles()) {
    const policy = Policy.parse(JSON.stringify(json));
    for (const testCase of cases) {
      count += 1;
      const r = request(testCase);
      const decision = policy.evaluate({ method: r.method, scheme: 'http', host: r.host, path: r.path, headers: new Headers(r.headers) });
      const { action } = decision;
      let response;
      if (action.type === 'respond') {
        response = { status: action.status, headers: action.headers, reachedUpstream: false };
      } else {
        const headers = new Headers(UPSTREAM_HEADERS);
        if (action.type === 'forward') policy.applyEdits(action, headers);
        response = { status: 200, headers: lines(headers), reachedUpstream: true };
      }
      const found = [...checkDenial(testCase, decision.denial), ...check(testCase, response)];
      failures.push(...found.map((problem) => `${file} / ${testCase.name}: ${problem}`));
    }
    policy.free();
  }
  assert.ok(count >= 50, `only ${count} cases`);
  assert.deepEqual(failures, []);
});

test('every decision vector, through withCors around the upstream handler', async () => {
  const failures = [];
  for (const { file, policy: json, cases } of decisionFiles()) {
    const policy = Policy.parse(JSON.stringify(json));
    for (const testCase of cases) {
      const handler = upstream();
      let sent;
      try {
        sent = fetchRequest(testCase);
      } catch (error) {
        // A URL no Fetch runtime hands a handler (userinfo): refused before corsguard, as permitted.
        if (!testCase.expect.edge_may_refuse) failures.push(`${file} / ${testCase.name}: ${error}`);
        continue;
      }
      const { value: response, lines: denials } = await logged(() => withCors(policy, handler)(sent));
      const r = request(testCase);
      const url = new URL(sent.url);
      const rewritten = url.host !== r.host || url.pathname + url.search !== r.path;
      failures.push(...checkLogged(testCase, denials, { rewritten }).map((problem) => `${file} / ${testCase.name}: ${problem}`));
      const body = await response.text();
      const seen = { status: response.status, headers: lines(response.headers), body, reachedUpstream: handler.calls === 1 };
      if (handler.calls > 1) failures.push(`${file} / ${testCase.name}: the handler ran ${handler.calls} times`);
      if (testCase.expect.action === 'respond' && body !== '') failures.push(`${file} / ${testCase.name}: a body on an answer`);
      failures.push(...check(testCase, seen).map((problem) => `${file} / ${testCase.name}: ${problem}`));
    }
  }
  assert.deepEqual(failures, []);
});

test('every validation vector: Policy.parse throws a PolicyError listing every problem', () => {
  const failures = [];
  for (const testCase of validationCases()) {
    let reported;
    try {
      reported = Policy.parse(testCase.text).warnings;
      if (testCase.errors.length > 0) failures.push(`${testCase.name}: a policy with errors loaded`);
    } catch (error) {
      assert.ok(error instanceof PolicyError, `${testCase.name}: ${error}`);
      reported = error.problems;
      for (const p of reported) {
        const kind = `${p.severity}[${p.code}]`;
        const line = p.path === '' ? `${kind}: ${p.message}` : `${kind}: ${p.path}: ${p.message}`;
        if (!error.message.includes(line)) failures.push(`${testCase.name}: the message lacks ${JSON.stringify(line)}`);
      }
    }
    failures.push(...checkValidation(testCase, reported).map((f) => `${testCase.name}: ${f}`));
  }
  assert.deepEqual(failures, []);
});

test('a denial is the one JSON line every edge logs, with the request id the host gives', () => {
  const policy = Policy.parse('{"origins": ["https://app.example.com"], "routes": [{"path_prefix": "/admin/", "origins": ["https://admin.example.com"]}]}');
  const evaluate = (origin, path, id) => policy.evaluate({ method: 'GET', host: 'api.test', path, headers: { origin } }, id);
  assert.deepEqual(JSON.parse(evaluate('https://evil.example', '/', 'req-7').denialLine), {
    corsguard: 'denial', kind: 'actual', reason: 'origin-not-allowed', mode: 'enforce', route: '', origin: 'https://evil.example',
    request_id: 'req-7',
  });
  assert.equal(JSON.parse(evaluate('https://app.example.com', '/admin/x').denialLine).route, 'routes[0]');
  assert.equal(evaluate('https://app.example.com', '/x').denialLine, null);
});

test('Policy.parse takes the text only: an object has lost the keys given twice that the text shows', () => {
  const text = '{"origins": ["https://app.example.com"], "credentials": false, "origins": ["*"]}';
  assert.throws(() => Policy.parse(text), (error) => error instanceof PolicyError && /error\[duplicate-key\]: origins/.test(error.message));
  for (const given of [JSON.parse(text), null, undefined, 42, [text], new String(text)]) {
    assert.throws(() => Policy.parse(given), (error) => {
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, /Policy\.parse takes the policy file's text \(a string\)/);
      assert.match(error.message, /with \{ type: 'text' \}/);
      return true;
    });
  }
});

test('invalid JSON text is refused with its line and column', () => {
  assert.throws(() => Policy.parse('{\n  "origins": ["https://a.example.com",]\n}'), (error) => {
    assert.ok(error instanceof PolicyError);
    assert.equal(error.problems.length, 1);
    assert.match(error.message, /error\[invalid-json\]: not valid JSON: .*line 2 column/);
    return true;
  });
});

test('evaluate takes a Fetch Request, a plain request or a view, and returns plain data', () => {
  const policy = Policy.parse(JSON.stringify({ origins: ['https://app.example.com'], methods: ['PUT'], debug: true }));
  const preflight = new Request('https://api.test/items?x=1', {
    method: 'OPTIONS',
    headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'PUT' },
  });
  const view = requestView(preflight);
  assert.deepEqual(
    { ...view },
    {
      method: 'OPTIONS', scheme: 'https', host: 'api.test', path: '/items?x=1', origin: 'https://app.example.com',
      requestMethod: 'PUT', requestHeaders: undefined, requestPrivateNetwork: undefined,
    },
  );
  const decision = policy.evaluate(preflight);
  assert.deepEqual(policy.evaluate(view), decision);
  assert.equal(decision.kind, 'preflight');
  assert.equal(decision.denial, null);
  assert.equal(decision.enforcement, 'enforced');
  const routed = Policy.parse(JSON.stringify({
    origins: ['https://app.example.com'],
    routes: [{ path_prefix: '/internal/', disabled: true }, { path_prefix: '/trial/', mode: 'report-only' }],
  }));
  const at = (path) => routed.evaluate({ method: 'GET', host: 'api.test', path, headers: { origin: 'https://evil.example' } });
  assert.deepEqual(
    [at('/internal/x'), at('/trial/x')].map(({ kind, enforcement, denial, action }) => [kind, enforcement, denial, action.type]),
    [['actual', 'route-disabled', null, 'pass-through'], ['actual', 'report-only', 'origin-not-allowed', 'pass-through']],
  );
  assert.equal(decision.action.type, 'respond');
  assert.equal(decision.action.status, 204);
  assert.deepEqual(Object.fromEntries(decision.action.headers)['access-control-allow-methods'], 'PUT');
  assert.deepEqual(JSON.parse(JSON.stringify(decision)), decision, 'plain, serialisable data');

  const refused = policy.evaluate({ method: 'GET', host: 'api.test', path: '/', headers: { origin: 'https://evil.example' } });
  assert.equal(refused.kind, 'actual');
  assert.equal(refused.denial, 'origin-not-allowed');
  assert.deepEqual(refused.action, {
    type: 'forward', headers: [['corsguard-reason', 'origin-not-allowed']], varyOrigin: true,
  });
  assert.equal(policy.evaluate({ method: 'GET', headers: {} }).kind, 'no_origin');
  // A Fetch byte string's bytes reach the engine as they are: not a token, so malformed.
  const latin1 = policy.evaluate({ method: 'GET', origin: 'https://app.example.com\u00ff' });
  assert.equal(latin1.denial, 'malformed-request');
});

test('withCors answers preflights without calling the handler', async () => {
  const policy = Policy.parse(JSON.stringify({ origins: ['https://app.example.com'], methods: ['PUT'] }));
  const handler = upstream();
  const response = await withCors(policy, handler)(new Request('https://api.test/', {
    method: 'OPTIONS',
    headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'PUT' },
  }));
  assert.equal(handler.calls, 0);
  assert.equal(response.status, 204);
  assert.equal(response.headers.get('access-control-allow-origin'), 'https://app.example.com');
  assert.equal(response.body, null);
});

test('withCors keeps status, other headers and the body, and streams the body untouched', async () => {
  const policy = Policy.parse(JSON.stringify({ origins: ['https://app.example.com'] }));
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  const big = new Uint8Array(1 << 20).map((_, i) => i % 251);
  const handler = async (request, context) => {
    assert.equal(context, 'ctx', 'extra handler arguments are passed on');
    const body = new ReadableStream({
      async start(controller) {
        controller.enqueue(new TextEncoder().encode('first'));
        await released;
        controller.enqueue(big);
        controller.close();
      },
    });
    const headers = new Headers([['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2'], ['Vary', 'Accept-Encoding'],
      ['Access-Control-Allow-Origin', '*'], ['Content-Type', 'application/octet-stream']]);
    return new Response(body, { status: 201, statusText: 'Made', headers });
  };
  const request = new Request('https://api.test/things', { method: 'POST', headers: { Origin: 'https://app.example.com' } });
  const response = await withCors(policy, handler)(request, 'ctx');
  assert.equal(response.status, 201);
  assert.equal(response.statusText, 'Made');
  assert.deepEqual(response.headers.getSetCookie(), ['a=1', 'b=2']);
  assert.equal(response.headers.get('content-type'), 'application/octet-stream');
  assert.equal(response.headers.get('access-control-allow-origin'), 'https://app.example.com');
  assert.equal(response.headers.get('vary'), 'Accept-Encoding, Origin');
  // The first chunk arrives while the handler's body is still open: streamed, not buffered.
  const reader = response.body.getReader();
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value), 'first');
  release();
  const rest = [];
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest.push(chunk.value);
  assert.deepEqual(Buffer.concat(rest), Buffer.from(big));
});

test('withCors leaves a pass-through response as the handler made it', async () => {
  const policy = Policy.parse(JSON.stringify({ origins: ['https://app.example.com'], mode: 'report-only' }));
  const made = new Response('x', { headers: { 'Access-Control-Allow-Origin': '*' } });
  const response = await withCors(policy, async () => made)(new Request('https://api.test/', {
    headers: { Origin: 'https://evil.example' },
  }));
  assert.equal(response, made);
  assert.equal(response.headers.get('access-control-allow-origin'), '*');
});

test('a handler that throws is a 500 with the policy\'s headers, and its error is only logged', async () => {
  const policy = Policy.parse(JSON.stringify({ origins: ['https://app.example.com'], expose_headers: ['X-Id'] }));
  const handler = async () => {
    throw new Error('secret upstream detail');
  };
  for (const [origin, allowed] of [['https://app.example.com', true], ['https://evil.example', false]]) {
    const errors = [];
    const error = console.error;
    console.error = (...args) => errors.push(args);
    let response;
    try {
      response = await withCors(policy, handler)(new Request('https://api.test/x', { headers: { Origin: origin } }));
    } finally {
      console.error = error;
    }
    assert.equal(response.status, 500);
    assert.equal(await response.text(), 'corsguard: the handler failed\n');
    assert.equal(response.headers.get('access-control-allow-origin'), allowed ? origin : null);
    assert.equal(response.headers.get('access-control-expose-headers'), allowed ? 'x-id' : null);
    assert.equal(response.headers.get('vary'), 'Origin');
    assert.equal(errors.length, 1);
    assert.equal(errors[0][1].message, 'secret upstream detail');
  }
});

test('withCors passes a 101 (a WebSocket upgrade) and any status below 200 through unchanged', async () => {
  const policy = Policy.parse(JSON.stringify({ origins: ['https://app.example.com'] }));
  // Deno's upgradeWebSocket returns a 101; Node's Response cannot be built with one, so a stand-in.
  for (const status of [101, 103]) {
    const made = { status, headers: new Headers({ Upgrade: 'websocket' }), body: null };
    const response = await withCors(policy, async () => made)(new Request('https://api.test/socket', {
      headers: { Origin: 'https://app.example.com' },
    }));
    assert.equal(response, made);
  }
});

test('a route is chosen on the URL as the WHATWG parser reads it, which is what fetch sends on', () => {
  const policy = Policy.parse(JSON.stringify({
    origins: ['https://app.example.com', 'https://other.example.com'], credentials: true,
    routes: [{ path_prefix: '/admin/', origins: ['https://app.example.com'] }],
  }));
  const other = { Origin: 'https://other.example.com' };
  for (const url of ['https://api.test/x/../admin/secret', 'https://api.test/x/%2e%2e/admin/secret', 'https://api.test/admin\\secret']) {
    const { action, denial } = policy.evaluate(new Request(url, { headers: other }));
    assert.equal(denial, 'origin-not-allowed', url);
    assert.deepEqual(action.headers, [], url);
  }
  const refused = policy.evaluate({ method: 'GET', scheme: 'https', host: 'api.test', path: '/admin%2Fsecret', headers: other });
  assert.equal(refused.denial, 'malformed-request');
});

test('a loaded policy reports its warnings', () => {
  const policy = Policy.parse(JSON.stringify({ origins: ['https://app.example.com'], methods: ['patch'] }));
  assert.deepEqual(policy.warnings.map((w) => [w.severity, w.path]), [['warning', 'methods[0]']]);
});

test('the packed package installs offline and resolves through its exports', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'corsguard-npm-'));
  try {
    installPacked(dir);
    const script = `
      import { Policy, PolicyError, withCors } from 'corsguard';
      import { createRequire } from 'node:module';
      const policy = Policy.parse(JSON.stringify({ origins: ['https://app.example.com'] }));
      const decision = policy.evaluate({ method: 'GET', host: 'a', path: '/', headers: { origin: 'https://app.example.com' } });
      let refused = false;
      try { Policy.parse(JSON.stringify({})); } catch (error) { refused = error instanceof PolicyError; }
      const wasm = import.meta.resolve('corsguard/engine_bg.wasm');
      console.log(JSON.stringify({ type: decision.action.type, refused, helper: typeof withCors, wasm: wasm.endsWith('/node_modules/corsguard/engine_bg.wasm') }));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { type: 'forward', refused: true, helper: 'function', wasm: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the default entry (edge runtimes) works after init with a WebAssembly.Module or the bytes', { timeout: 60_000 }, () => {
  const entry = join(ROOT, 'npm', 'pkg', 'corsguard.js');
  const wasm = join(ROOT, 'npm', 'pkg', 'engine_bg.wasm');
  for (const init of [
    `m.initSync({ module: new WebAssembly.Module(readFileSync(${JSON.stringify(wasm)})) })`,
    `await m.init({ module_or_path: readFileSync(${JSON.stringify(wasm)}) })`,
  ]) {
    const script = `
      import { readFileSync } from 'node:fs';
      const m = await import(${JSON.stringify(entry)});
      ${init};
      const policy = m.Policy.parse(JSON.stringify({ origins: ['https://app.example.com'], methods: ['PUT'] }));
      const response = await m.withCors(policy, () => new Response('x'))(new Request('https://a/', {
        method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT' } }));
      console.log(response.status, response.headers.get('access-control-allow-methods'));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, `${init}: ${run.stderr}`);
    assert.equal(run.stdout.trim(), '204 PUT', init);
  }
});

test('the Denial type of corsguard.d.ts names exactly the denials the vectors expect', () => {
  const types = readFileSync(join(ROOT, 'npm', 'js', 'corsguard.d.ts'), 'utf8');
  const union = types.match(/export type Denial =([^;]*);/)[1];
  const typed = [...union.matchAll(/['`]([a-z-]+)(?::[^'`]*)?['`]/g)].map((m) => m[1]).sort();
  const expected = decisionFiles().flatMap(({ cases }) => cases.map((c) => c.expect.denial)).filter(Boolean);
  assert.deepEqual([...new Set(expected.map((d) => d.split(':')[0]))].sort(), typed);
});
