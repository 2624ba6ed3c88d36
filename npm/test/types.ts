// The package's whole API, used as its types describe it: `deno check` compiles this against the
// installed package's `.d.ts` (tests/e2e/test_deno.py). Each `@ts-expect-error` is a use the
// types must refuse; the test also removes one and expects the check to fail.
import {
  type Action, type Decision, type Denial, type Problem, init, initSync, Policy, PolicyError, requestView, withCors,
} from 'corsguard';
import { type CloudFrontEvent, lambdaEdge } from 'corsguard/lambda-edge';

// @ts-expect-error: a Policy comes from Policy.parse only
new Policy();

let policy: Policy;
try {
  policy = Policy.parse('{"origins": ["https://app.example.com"]}');
  // @ts-expect-error: an object has lost its duplicate keys: the policy is text
  Policy.parse({ origins: ['https://app.example.com'] });
} catch (error) {
  if (error instanceof PolicyError) {
    const problems: Problem[] = error.problems;
    const codes: string[] = problems.map((p) => `${p.severity}[${p.code}] ${p.path}: ${p.message}`);
    // @ts-expect-error: a severity is 'error' or 'warning'
    const severity: 'info' = problems[0].severity;
    console.log(codes, severity);
  }
  throw error;
}
const warnings: Problem[] = policy.warnings;

const request = new Request('https://api.test/items', { headers: { Origin: 'https://app.example.com' } });
const decision: Decision = policy.evaluate(request);
policy.evaluate({ method: 'GET', host: 'api.test', path: '/', headers: { origin: 'https://app.example.com' } });
policy.evaluate(requestView(request));
// @ts-expect-error: a request has no `origins`
policy.evaluate({ origins: [] });

const kind: 'preflight' | 'actual' | 'no_origin' = decision.kind;
const enforcement: 'enforced' | 'report-only' | 'route-disabled' = decision.enforcement;
const denial: Denial | null = decision.denial;
const header: Denial = 'header-not-allowed: x-foo';
// @ts-expect-error: not a denial
const unknown: Denial = 'nope';

const action: Action = decision.action;
switch (action.type) {
  case 'respond': {
    const status: number = action.status;
    console.log(status, action.headers.map(([name, value]) => `${name}: ${value}`));
    break;
  }
  case 'forward': {
    const edited: Headers = policy.applyEdits(action, new Headers());
    const vary: boolean = action.varyOrigin;
    console.log(edited, vary);
    break;
  }
  case 'pass-through':
    // @ts-expect-error: a pass-through has no headers
    console.log(action.headers);
    break;
}

const handler = withCors(policy, async (incoming: Request, context: { next(): Promise<Response> }) => {
  console.log(incoming.url);
  return await context.next();
});
const answered: Promise<Response> = handler(request, { next: () => Promise.resolve(new Response('ok')) });
// @ts-expect-error: the wrapped handler keeps the handler's extra arguments
handler(request);
withCors(policy, () => new Response('plain'));

await init({ module_or_path: new URL('./engine_bg.wasm', import.meta.url) });
initSync({ module: new Uint8Array() });

const edge = lambdaEdge('{"origins": ["https://app.example.com"]}');
const event = {
  Records: [{ cf: { config: { eventType: 'viewer-request' }, request: { method: 'GET', uri: '/', querystring: '', headers: {} } } }],
} satisfies CloudFrontEvent;
const result = edge(event);
// @ts-expect-error: an event is CloudFront's shape
edge({ Records: [] });

policy.free();
console.log(warnings, kind, enforcement, denial, header, unknown, answered, result);
