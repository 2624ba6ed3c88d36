// The npm package's default entry (npm/pkg/corsguard.js, after `initSync({ module })` with the
// `.wasm` imported as a module, as edge runtimes that import .wasm files use it) in real workerd,
// through miniflare: `Policy.parse` takes the text only, refuses every policy the core refuses, and
// a policy it takes answers through `withCors`.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { ROOT, checkValidation, validationCases } from './harness.mjs';

const PKG = join(ROOT, 'npm', 'pkg');

// POST {"text": ...} or {"object": ...}: what Policy.parse made of it. Any other method, with a
// policy in the `policy` query: the answer of withCors around a handler that says "upstream".
const WORKER = `
import module from './engine_bg.wasm';
import { initSync, Policy, withCors } from './corsguard.js';
initSync({ module });

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (request.method === 'POST') {
      const given = await request.json();
      try {
        const policy = Policy.parse('text' in given ? given.text : given.object);
        return Response.json({ loaded: true, problems: policy.warnings });
      } catch (error) {
        return Response.json({ loaded: false, name: error.name, message: error.message, problems: error.problems ?? [] });
      }
    }
    const policy = Policy.parse(url.searchParams.get('policy'));
    return withCors(policy, () => new Response('upstream', { headers: { 'access-control-allow-origin': '*' } }))(request);
  },
};
`;

let workerd;

before(async () => {
  // Miniflare 5 takes its version 4 options (the documented ones) through this converter.
  workerd = new Miniflare(convertV4MiniflareOptions({
    cf: false, // offline: never fetch the `request.cf` placeholder
    log: new Log(LogLevel.WARN),
    workers: [{
      name: 'npm',
      compatibilityDate: '2025-09-01',
      modulesRoot: PKG,
      modules: [
        { type: 'ESModule', path: join(PKG, 'worker.mjs'), contents: WORKER },
        { type: 'ESModule', path: join(PKG, 'corsguard.js') },
        { type: 'ESModule', path: join(PKG, 'engine.js') },
        { type: 'CompiledWasm', path: join(PKG, 'engine_bg.wasm') },
      ],
    }],
  }));
  await workerd.ready;
});

after(async () => {
  await workerd?.dispose();
});

const parse = async (body) => (await workerd.dispatchFetch('http://api.test/', { method: 'POST', body: JSON.stringify(body) })).json();

test('workerd: Policy.parse takes the text only; an object has lost the keys given twice', async () => {
  const text = '{"origins": ["https://app.example.com"], "credentials": false, "origins": ["*"]}';
  const refused = await parse({ text });
  assert.equal(refused.name, 'PolicyError');
  assert.match(refused.message, /error\[duplicate-key\]: origins/);
  for (const object of [JSON.parse(text), null, 42, [text]]) {
    const answer = await parse({ object });
    assert.equal(answer.name, 'TypeError', JSON.stringify(answer));
    assert.match(answer.message, /Policy\.parse takes the policy file's text \(a string\)/);
  }
});

test('workerd: every validation vector is refused or loaded with exactly its problems', async () => {
  const failures = [];
  for (const testCase of validationCases()) {
    const answer = await parse({ text: testCase.text });
    if (answer.loaded === (testCase.errors.length > 0)) failures.push(`${testCase.name}: loaded is ${answer.loaded}`);
    if (!answer.loaded && answer.name !== 'PolicyError') failures.push(`${testCase.name}: ${answer.name}: ${answer.message}`);
    failures.push(...checkValidation(testCase, answer.problems).map((f) => `${testCase.name}: ${f}`));
  }
  assert.deepEqual(failures, []);
});

test('workerd: a policy it takes answers a preflight itself and replaces the upstream CORS', async () => {
  const policy = JSON.stringify({ origins: ['https://app.example.com'], methods: ['PUT'] });
  const url = `http://api.test/x?policy=${encodeURIComponent(policy)}`;
  const preflight = await workerd.dispatchFetch(url, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT' },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://app.example.com');
  assert.equal(preflight.headers.get('access-control-allow-methods'), 'PUT');
  assert.equal(await preflight.text(), '');
  const refused = await workerd.dispatchFetch(url, { headers: { origin: 'https://evil.example' } });
  assert.equal(await refused.text(), 'upstream');
  assert.equal(refused.headers.get('access-control-allow-origin'), null);
  assert.match(refused.headers.get('vary'), /Origin/);
});
