// The conformance vectors of tests/vectors/ for JavaScript runners: loading them, the upstream
// every runner uses, and the response check, as tests/vectors/README.md defines them. Shared by
// the npm package's tests and the component tests.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VECTORS = join(ROOT, 'tests', 'vectors');

/** Headers the engine owns (lowercase). */
export const OWNED = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-allow-private-network',
  'access-control-expose-headers',
  'access-control-max-age',
  'corsguard-reason',
];

/** The upstream's answer to every request (tests/vectors/upstream.json): replacing its headers is visible. */
const UPSTREAM = JSON.parse(readFileSync(join(ROOT, 'tests', 'vectors', 'upstream.json'), 'utf8'));
export const UPSTREAM_HEADERS = UPSTREAM.headers;
export const UPSTREAM_BODY = UPSTREAM.body;

/** Every `decisions/*.json` file, sorted: `{ file, policy, cases }`. */
export function decisionFiles() {
  const dir = join(VECTORS, 'decisions');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({ file: name, ...JSON.parse(readFileSync(join(dir, name), 'utf8')) }));
}

/** The cases of `validation.json`, each with `text`: the policy file's text (as written, or the object as JSON). */
export function validationCases() {
  return JSON.parse(readFileSync(join(VECTORS, 'validation.json'), 'utf8')).map((testCase) => ({
    ...testCase,
    text: testCase.text ?? JSON.stringify(testCase.policy),
  }));
}

/**
 * A case's request with its defaults filled in: `{ method, path, host, headers: [[name, value]] }`,
 * the header lines in order (`headers` is an object or a list of lines).
 */
export function request(testCase) {
  const r = testCase.request ?? {};
  return {
    method: r.method ?? 'GET',
    path: r.path ?? '/',
    host: r.host ?? 'api.test',
    headers: Array.isArray(r.headers) ? r.headers : Object.entries(r.headers ?? {}),
  };
}

/** A request header's lines by case-insensitive name, joined as hosts join them (`, `), or undefined. */
export function header(headers, name) {
  const values = headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  return values.length ? values.join(', ') : undefined;
}

/**
 * Whether the edge's own HTTP server refused the request before corsguard (what `edge_may_refuse`
 * permits): a 4xx, or a redirect to the normalized path, that never reached the upstream and
 * allows nothing.
 */
function edgeRefused(response, got) {
  const allows = [...got.keys()].some((name) => name.startsWith('access-control-allow-'));
  const refusal = (response.status >= 400 && response.status < 500) || [301, 307, 308].includes(response.status);
  return refusal && !response.reachedUpstream && !allows;
}

/** A denial as its reason code (`header-not-allowed: x-foo`), from a `{ tag, val }` variant. */
export function denialCode(denial) {
  if (denial === undefined || denial === null) return null;
  return denial.tag === 'header-not-allowed' ? `${denial.tag}: ${denial.val}` : denial.tag;
}

const tokens = (values) =>
  [...new Set(values.flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase()).filter(Boolean))].sort();

/**
 * Every way an edge's response differs from the case's expectation (empty when it matches).
 * `response`: `{ status, headers: [[name, value]], body, reachedUpstream }`; a `body` of
 * undefined is not compared (runners that never see a body, such as a decision replay).
 */
export function check(testCase, response) {
  const { expect } = testCase;
  const got = new Map();
  for (const [name, value] of response.headers) {
    const key = name.toLowerCase();
    got.set(key, [...(got.get(key) ?? []), value.trim()]);
  }
  if (expect.edge_may_refuse && edgeRefused(response, got)) return [];
  const wanted = new Map(Object.entries(expect.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const problems = [];
  const ownedExactly = (names) => {
    for (const name of names) {
      const have = got.get(name);
      if (wanted.has(name) && JSON.stringify(have) !== JSON.stringify([wanted.get(name)])) {
        problems.push(`${name}: want ${JSON.stringify(wanted.get(name))}, got ${JSON.stringify(have)}`);
      } else if (!wanted.has(name) && have) {
        problems.push(`${name}: want none, got ${JSON.stringify(have)}`);
      }
    }
  };
  const upstreamAnswer = () => {
    if (!response.reachedUpstream) problems.push('the request never reached the upstream');
    const head = request(testCase).method === 'HEAD';
    if (response.status !== 200 || (response.body !== undefined && !head && response.body !== UPSTREAM_BODY)) {
      problems.push(`upstream answer altered: status ${response.status}, body ${JSON.stringify(response.body)}`);
    }
  };
  switch (expect.action) {
    case 'respond':
      if (response.reachedUpstream) problems.push('the request reached the upstream; it must be answered at the edge');
      if (response.status !== expect.status) problems.push(`status: want ${expect.status}, got ${response.status}`);
      ownedExactly([...OWNED, 'vary']);
      break;
    case 'forward': {
      upstreamAnswer();
      ownedExactly(OWNED);
      const want = tokens(['Accept-Encoding', ...(expect.vary ?? [])]);
      const have = tokens(got.get('vary') ?? []);
      if (JSON.stringify(have) !== JSON.stringify(want)) {
        problems.push(`vary: want tokens ${JSON.stringify(want)}, got ${JSON.stringify(got.get('vary'))}`);
      }
      break;
    }
    case 'pass': {
      upstreamAnswer();
      for (const [name, value] of UPSTREAM_HEADERS) {
        const have = got.get(name.toLowerCase());
        if (JSON.stringify(have) !== JSON.stringify([value])) {
          problems.push(`${name}: the upstream's ${JSON.stringify(value)} must pass untouched, got ${JSON.stringify(have)}`);
        }
      }
      const upstreamNames = UPSTREAM_HEADERS.map(([n]) => n.toLowerCase());
      for (const name of OWNED) {
        if (!upstreamNames.includes(name) && got.has(name)) problems.push(`${name}: added on a pass-through`);
      }
      break;
    }
    default:
      problems.push(`unknown action ${JSON.stringify(expect.action)}`);
  }
  return problems;
}

/**
 * What `fn` (sync or async) wrote with `console.log`, kept from the test's output: the denial lines
 * the package logs. `await logged(fn)` → `{ value, lines }`.
 */
export async function logged(fn) {
  const lines = [];
  const log = console.log;
  console.log = (...args) => lines.push(args.join(' '));
  try {
    return { value: await fn(), lines };
  } finally {
    console.log = log;
  }
}

/**
 * Whether `lines` (what was logged for one case) are the one denial line the case expects, or none.
 * `rewritten`: the host's URL parser changed the case's path or host before the decision (a Fetch
 * `Request` resolves dot segments), which may change the reason, never whether there is one.
 */
export function checkLogged(testCase, lines, { rewritten = false } = {}) {
  const want = testCase.expect.denial?.split(':')[0] ?? null;
  const reasons = lines.map((line) => JSON.parse(line)).filter((line) => line.corsguard === 'denial').map((line) => line.reason);
  const same = rewritten ? reasons.length === (want === null ? 0 : 1) : JSON.stringify(reasons) === JSON.stringify(want === null ? [] : [want]);
  return same ? [] : [`logged denials ${JSON.stringify(reasons)}, want ${JSON.stringify(want)}`];
}

/** Whether a case's expected denial matches `code` (a reason code or null). */
export function checkDenial(testCase, code) {
  const want = testCase.expect.denial ?? null;
  return want === code ? [] : [`denial: want ${JSON.stringify(want)}, got ${JSON.stringify(code)}`];
}

/**
 * Every way the problems a runner reported for a `validation.json` case differ from the case:
 * `problems` is `[{ severity: 'error' | 'warning', code, path, message }]`.
 */
export function checkValidation(testCase, problems) {
  const failures = [];
  for (const [severity, key] of [['error', 'errors'], ['warning', 'warnings']]) {
    const left = problems.filter((p) => p.severity === severity);
    for (const want of testCase[key]) {
      const at = left.findIndex((p) => p.path === want.path && p.code === want.code && p.message.includes(want.contains));
      if (at < 0) failures.push(`no ${severity} [${want.code}] at ${JSON.stringify(want.path)} containing ${JSON.stringify(want.contains)}`);
      else left.splice(at, 1);
    }
    failures.push(...left.map((p) => `unexpected ${severity} [${p.code}] at ${JSON.stringify(p.path)}: ${p.message}`));
  }
  return failures;
}

/**
 * The upstream on 127.0.0.1: answers every request as tests/vectors/README.md says and records
 * what it received (`body` as a Buffer). `await startUpstream()` → `{ port, requests, close() }`.
 * `large` bytes, when given, answer the path `/large` instead of the usual body.
 */
/** How long the upstream takes to answer a `/slow...` path. */
export const SLOW_ANSWER_MS = 3000;

export async function startUpstream({ large } = {}) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      const body = large && req.url === '/large' ? large : Buffer.from(UPSTREAM_BODY);
      for (const [name, value] of UPSTREAM_HEADERS) res.setHeader(name, value);
      res.setHeader('Content-Length', body.length);
      // `/slow...` answers after SLOW_ANSWER_MS: later than any upstream timeout a test sets.
      const delay = req.url.startsWith('/slow') ? SLOW_ANSWER_MS : 0;
      setTimeout(() => res.end(req.method === 'HEAD' ? undefined : body), delay);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Packs npm/pkg and installs the tarball, offline, into `dir` (a fresh project): what a user's
 * `npm install corsguard` gives.
 */
export function installPacked(dir) {
  const npm = (args, cwd) => {
    const run = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', timeout: 60_000 });
    if (run.status !== 0) throw new Error(`npm ${args.join(' ')}: ${run.stderr}${run.error ?? ''}`);
    return run.stdout.trim();
  };
  const tarball = npm(['pack', '--pack-destination', dir], join(ROOT, 'npm', 'pkg')).split('\n').at(-1);
  writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "module" }');
  npm(['install', '--offline', `./${tarball}`], dir);
}
