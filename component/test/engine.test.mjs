// Runs the engine component (component/dist/corsguard-engine.wasm, transpiled by jco) in Node and
// replays every conformance vector through its WIT interface: decisions, and validation problems
// as the typed `result` error. Build first: component/build.sh.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { policy } from '../dist/engine-js/engine.js';
import {
  UPSTREAM_HEADERS, check, checkDenial, checkValidation, decisionFiles, denialCode, header, request, validationCases,
} from '../../npm/test/harness.mjs';

const { Engine, applyEdits } = policy;
const utf8 = (text) => new TextEncoder().encode(text);

/** A vector case as the WIT `request` record: raw bytes, absent headers `undefined`. */
function view(testCase) {
  const r = request(testCase);
  const bytes = (name) => (header(r.headers, name) === undefined ? undefined : utf8(header(r.headers, name)));
  return {
    method: utf8(r.method),
    scheme: utf8('http'),
    host: utf8(r.host),
    path: utf8(r.path),
    origin: bytes('origin'),
    requestMethod: bytes('access-control-request-method'),
    requestHeaders: bytes('access-control-request-headers'),
    requestPrivateNetwork: bytes('access-control-request-private-network'),
  };
}

/** What a host does with a decision, against the vectors' upstream. */
function respond(decision) {
  const upstream = UPSTREAM_HEADERS.map(([name, value]) => ({ name, value }));
  const lines = (headers) => headers.map(({ name, value }) => [name, value]);
  switch (decision.action.tag) {
    case 'respond':
      return { status: decision.action.val.status, headers: lines(decision.action.val.headers), reachedUpstream: false };
    case 'forward':
      return { status: 200, headers: lines(applyEdits(decision.action.val, upstream)), reachedUpstream: true };
    case 'pass-through':
      return { status: 200, headers: lines(upstream), reachedUpstream: true };
    default:
      throw new Error(`unknown action ${decision.action.tag}`);
  }
}

/** Loads a policy, returning `{ engine }` or `{ problems }` from the typed error. */
function load(json) {
  try {
    return { engine: Engine.load(json) };
  } catch (error) {
    assert.ok(Array.isArray(error.payload), `load threw something else than list<problem>: ${error}`);
    return { problems: error.payload };
  }
}

test('every decision vector, through the component', () => {
  const failures = [];
  let count = 0;
  for (const { file, policy: json, cases } of decisionFiles()) {
    const { engine, problems } = load(JSON.stringify(json));
    assert.ok(engine, `${file}: ${JSON.stringify(problems)}`);
    for (const testCase of cases) {
      count += 1;
      const decision = engine.evaluate(view(testCase));
      const found = [...checkDenial(testCase, denialCode(decision.denial)), ...check(testCase, respond(decision))];
      failures.push(...found.map((problem) => `${file} / ${testCase.name}: ${problem}`));
    }
    engine[Symbol.dispose]();
  }
  assert.ok(count >= 50, `only ${count} cases`);
  assert.deepEqual(failures, []);
});

test('every validation vector, as typed problems', () => {
  const failures = [];
  for (const testCase of validationCases()) {
    const { engine, problems } = load(testCase.text);
    if (testCase.errors.length > 0) assert.ok(problems, `${testCase.name}: a policy with errors loaded`);
    const reported = engine ? engine.warnings() : problems;
    failures.push(...checkValidation(testCase, reported).map((f) => `${testCase.name}: ${f}`));
  }
  assert.deepEqual(failures, []);
});

test('invalid JSON is one error at the root, with line and column', () => {
  const { problems } = load('{\n  "origins": ["https://a.example.com",]\n}');
  assert.equal(problems.length, 1);
  assert.equal(problems[0].severity, 'error');
  assert.equal(problems[0].path, '');
  assert.equal(problems[0].code, 'invalid-json');
  assert.match(problems[0].message, /^not valid JSON: .*line 2 column/);
});

test('raw bytes cross the boundary unchanged and hostile ones are refused', () => {
  const engine = Engine.load('{"origins": ["https://app.example.com"], "debug": true}');
  const base = { method: utf8('GET'), host: utf8('api.test'), path: utf8('/') };
  const ok = engine.evaluate({ ...base, origin: utf8('https://app.example.com') });
  assert.equal(ok.kind, 'actual');
  assert.equal(ok.denial, undefined);
  for (const origin of [Uint8Array.of(...utf8('https://app.example.com'), 0xff), utf8('https://app.example.com\r\nx: y')]) {
    const refused = engine.evaluate({ ...base, origin });
    assert.deepEqual(refused.denial, { tag: 'malformed-request' });
    assert.equal(refused.action.tag, 'forward');
    assert.ok(!refused.action.val.headers.some((h) => h.name === 'access-control-allow-origin'));
  }
  assert.equal(engine.evaluate(base).kind, 'no-origin');
  assert.equal(ok.enforcement, 'enforced');
  engine[Symbol.dispose]();
});

test('a disabled route and report-only mode pass through, each saying why', () => {
  const engine = Engine.load(
    '{"origins": ["https://app.example.com"], "routes": [{"path_prefix": "/internal/", "disabled": true}, ' +
      '{"path_prefix": "/trial/", "mode": "report-only"}]}',
  );
  const at = (path) => engine.evaluate({ method: utf8('GET'), host: utf8('api.test'), path: utf8(path), origin: utf8('https://evil.example') });
  const disabled = at('/internal/x');
  assert.deepEqual([disabled.kind, disabled.enforcement, disabled.action.tag, disabled.denial], ['actual', 'route-disabled', 'pass-through', undefined]);
  const trial = at('/trial/x');
  assert.deepEqual([trial.kind, trial.enforcement, trial.action.tag, trial.denial], ['actual', 'report-only', 'pass-through', { tag: 'origin-not-allowed' }]);
  engine[Symbol.dispose]();
});
