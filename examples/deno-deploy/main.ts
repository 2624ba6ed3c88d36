// corsguard on Deno Deploy, or anywhere `deno serve` runs: the policy in front of your API.
// Preflights are answered here; everything else goes to UPSTREAM and comes back with the policy's
// headers, a 502 when the upstream cannot be reached and a 504 when it has not answered within
// UPSTREAM_TIMEOUT seconds (default 30). Locally:
// UPSTREAM=http://127.0.0.1:8080 deno serve --allow-net --allow-env=UPSTREAM,UPSTREAM_TIMEOUT main.ts
import { Policy, withCors } from 'corsguard';
// As text: a JSON import would hand over an object, which has already lost any key given twice.
import policyText from './policy.json' with { type: 'text' };

const policy = Policy.parse(policyText); // a refused policy stops the deployment here
const upstream = new URL(Deno.env.get('UPSTREAM') ?? 'http://127.0.0.1:8080').origin;
const timeout = Number(Deno.env.get('UPSTREAM_TIMEOUT') ?? '30');
if (!(timeout > 0)) throw new Error(`UPSTREAM_TIMEOUT is "${Deno.env.get('UPSTREAM_TIMEOUT')}": give a number of seconds`);

/** The request, sent on to the upstream with its method, path, query, headers and body. */
async function forward(request: Request): Promise<Response> {
  const { pathname, search } = new URL(request.url);
  // The timeout bounds the wait for the answer's head; its body then streams as long as it takes.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeout * 1000);
  // Joined as text: resolving the path against the upstream would let `//other.host/` leave it.
  const sent = fetch(upstream + pathname + search, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    redirect: 'manual',
    signal: abort.signal,
  });
  // With the policy's headers, the page then sees the 502 or 504 itself rather than a CORS error.
  return await sent
    .catch(() =>
      abort.signal.aborted
        ? new Response('corsguard: the upstream did not answer in time\n', { status: 504 })
        : new Response('corsguard: the upstream did not answer\n', { status: 502 })
    )
    .finally(() => clearTimeout(timer));
}

export default { fetch: withCors(policy, forward) } satisfies Deno.ServeDefaultExport;
