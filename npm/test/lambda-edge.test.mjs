// corsguard/lambda-edge in Node, with events shaped as CloudFront documents them ("Lambda@Edge
// event structure"): every decision vector as a viewer-request event, then, when the request goes
// on, the vectors' upstream answer as a viewer-response event; then what the handler promises
// beyond the vectors, and examples/lambda-edge as a user deploys it.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { lambdaEdge } from '../pkg/lambda-edge.js';
import { PolicyError } from '../pkg/node.js';
import {
  ROOT, UPSTREAM_BODY, UPSTREAM_HEADERS, check, checkLogged, decisionFiles, installPacked, logged, request,
} from './harness.mjs';

/** Header lines as CloudFront's map: lowercase names, each with its `{ key, value }` lines. */
function headerMap(lines) {
  const map = {};
  for (const [key, value] of lines) (map[key.toLowerCase()] ??= []).push({ key, value });
  return map;
}

/** A CloudFront map back to header lines. */
const lines = (map) => Object.values(map).flatMap((entries) => entries.map(({ key, value }) => [key, value]));

function cloudFrontRequest({ method, path, host, headers }) {
  const at = path.indexOf('?');
  return {
    clientIp: '203.0.113.178',
    method,
    uri: at < 0 ? path : path.slice(0, at),
    querystring: at < 0 ? '' : path.slice(at + 1),
    headers: headerMap([['Host', host], ...headers]),
  };
}

function event(eventType, request, response) {
  const config = { distributionDomainName: 'd111111abcdef8.cloudfront.net', distributionId: 'EDFDVBD6EXAMPLE', eventType, requestId: 'x' };
  return { Records: [{ cf: { config, request, ...(response ? { response } : {}) } }] };
}

const upstreamAnswer = () => ({ status: '200', statusDescription: 'OK', headers: headerMap(UPSTREAM_HEADERS) });

/** One exchange as CloudFront runs it: `{ status, headers, body, reachedUpstream }`. */
async function exchange(handler, req) {
  const viewerRequest = cloudFrontRequest(req);
  const first = await handler(event('viewer-request', structuredClone(viewerRequest)));
  if (first.status !== undefined) {
    return { status: Number(first.status), headers: lines(first.headers), body: first.body ?? '', reachedUpstream: false };
  }
  assert.deepEqual(first, viewerRequest, 'the request goes on unchanged');
  const answer = await handler(event('viewer-response', viewerRequest, upstreamAnswer()));
  return { status: Number(answer.status), headers: lines(answer.headers), body: UPSTREAM_BODY, reachedUpstream: true };
}

test('every decision vector, as viewer-request and viewer-response events', async () => {
  const failures = [];
  let count = 0;
  for (const { file, policy, cases } of decisionFiles()) {
    const handler = lambdaEdge(JSON.stringify(policy));
    for (const testCase of cases) {
      count += 1;
      const { value: seen, lines } = await logged(() => exchange(handler, request(testCase)));
      failures.push(...[...check(testCase, seen), ...checkLogged(testCase, lines)]
        .map((problem) => `${file} / ${testCase.name}: ${problem}`));
    }
  }
  assert.ok(count >= 50, `only ${count} cases`);
  assert.deepEqual(failures, []);
});

const policy = JSON.stringify({ origins: ['https://app.example.com'], methods: ['PUT'], credentials: true });
const preflight = { method: 'OPTIONS', path: '/api', host: 'api.test', headers: [['Origin', 'https://app.example.com'], ['Access-Control-Request-Method', 'PUT']] };

test('a denial is logged once, in the request event, with CloudFront\'s request id', async () => {
  const refused = { ...preflight, headers: [['Origin', 'https://evil.example'], ['Access-Control-Request-Method', 'PUT']] };
  const { lines } = await logged(() => lambdaEdge(policy)(event('viewer-request', cloudFrontRequest(refused))));
  assert.deepEqual(lines.map((line) => JSON.parse(line)), [{
    corsguard: 'denial', kind: 'preflight', reason: 'origin-not-allowed', mode: 'enforce', route: '', origin: 'https://evil.example',
    request_id: 'x',
  }]);
});

test('a preflight is answered in the request event, as a generated response', async () => {
  const answer = await lambdaEdge(policy)(event('viewer-request', cloudFrontRequest(preflight)));
  assert.equal(answer.status, '204');
  assert.deepEqual(answer.headers['access-control-allow-origin'], [{ key: 'access-control-allow-origin', value: 'https://app.example.com' }]);
  assert.deepEqual(answer.headers['access-control-allow-methods'], [{ key: 'access-control-allow-methods', value: 'PUT' }]);
  assert.equal(answer.body, undefined);
});

test('the response event keeps what is not CORS, and every line of a repeated header', async () => {
  const req = cloudFrontRequest({ method: 'GET', path: '/x?y=1', host: 'api.test', headers: [['Origin', 'https://app.example.com']] });
  const response = upstreamAnswer();
  response.headers['set-cookie'] = [{ key: 'Set-Cookie', value: 'a=1' }, { key: 'Set-Cookie', value: 'b=2' }];
  response.headers['access-control-allow-origin'] = [{ key: 'Access-Control-Allow-Origin', value: '*' }, { key: 'Access-Control-Allow-Origin', value: 'https://evil.example' }];
  const answer = await lambdaEdge(policy)(event('viewer-response', req, response));
  assert.equal(answer.status, '200');
  assert.deepEqual(answer.headers['set-cookie'].map(({ value }) => value), ['a=1', 'b=2']);
  assert.deepEqual(answer.headers['access-control-allow-origin'].map(({ value }) => value), ['https://app.example.com']);
  assert.deepEqual(answer.headers['access-control-allow-credentials'].map(({ value }) => value), ['true']);
  assert.deepEqual(answer.headers.vary.map(({ value }) => value), ['Accept-Encoding, Origin']);
  assert.deepEqual(answer.headers['x-upstream'], [{ key: 'X-Upstream', value: '1' }]);
});

test('a preflight that reached the origin loses every CORS header: the browser refuses it', async () => {
  const warned = [];
  const warn = console.warn;
  console.warn = (message) => warned.push(message);
  try {
    const answer = await lambdaEdge(policy)(event('viewer-response', cloudFrontRequest(preflight), upstreamAnswer()));
    assert.ok(!Object.keys(answer.headers).some((name) => name.startsWith('access-control-')), JSON.stringify(answer.headers));
  } finally {
    console.warn = warn;
  }
  assert.deepEqual(warned, ['corsguard: a preflight reached the origin; associate this function with viewer-request']);
});

test('origin events are refused: their request is the one rewritten for the origin', async () => {
  const handler = lambdaEdge(policy);
  for (const eventType of ['origin-request', 'origin-response']) {
    await assert.rejects(handler(event(eventType, cloudFrontRequest(preflight), upstreamAnswer())),
      /associate this function with viewer-request and viewer-response, not origin-/);
  }
});

test('a policy given as an object is refused: it has lost the keys given twice', () => {
  const text = '{"origins": ["https://app.example.com"], "credentials": false, "origins": ["*"]}';
  assert.throws(() => lambdaEdge(JSON.parse(text)), /Policy\.parse takes the policy file's text/);
  assert.throws(() => lambdaEdge(text), /error\[duplicate-key\]: origins/);
});

test('a refused policy throws when the function loads, listing every problem', () => {
  assert.throws(() => lambdaEdge(JSON.stringify({ origins: ['https://example.com/', '*'], credentials: true })), (error) => {
    assert.ok(error instanceof PolicyError);
    assert.match(error.message, /error\[trailing-slash\]: origins\[0\]/);
    assert.ok(error.problems.length >= 2);
    return true;
  });
});

test('examples/lambda-edge, installed as a user deploys it, answers CloudFront events', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'corsguard-lambda-edge-'));
  try {
    installPacked(dir);
    cpSync(join(ROOT, 'examples', 'lambda-edge'), dir, { recursive: true, dereference: true });
    const { handler } = await import(join(dir, 'index.mjs'));
    const preflightFromDev = { ...preflight, headers: [['Origin', 'http://localhost:5173'], ['Access-Control-Request-Method', 'DELETE']] };
    const answer = await handler(event('viewer-request', cloudFrontRequest(preflightFromDev)));
    assert.equal(answer.status, '204');
    assert.equal(answer.headers['access-control-allow-origin'][0].value, 'http://localhost:5173');
    const seen = await exchange(handler, { method: 'GET', path: '/public/logo.png', host: 'api.test', headers: [['Origin', 'https://evil.example']] });
    assert.ok(seen.headers.some(([name, value]) => name.toLowerCase() === 'access-control-allow-origin' && value === '*'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
