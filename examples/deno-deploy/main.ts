// corsguard on Deno Deploy, or anywhere `deno serve` runs: the policy in front of your API.
// Preflights are answered here; everything else goes to UPSTREAM and comes back with the policy's
// headers. Locally: UPSTREAM=http://127.0.0.1:8080 deno serve --allow-net --allow-env=UPSTREAM main.ts
import { Policy, withCors } from 'corsguard';
// As text: a JSON import would hand over an object, which has already lost any key given twice.
import policyText from './policy.json' with { type: 'text' };

const policy = Policy.parse(policyText); // a refused policy stops the deployment here
const upstream = new URL(Deno.env.get('UPSTREAM') ?? 'http://127.0.0.1:8080').origin;

/** The request, sent on to the upstream with its method, path, query, headers and body. */
async function forward(request: Request): Promise<Response> {
  const { pathname, search } = new URL(request.url);
  // Joined as text: resolving the path against the upstream would let `//other.host/` leave it.
  const sent = fetch(upstream + pathname + search, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    redirect: 'manual',
  });
  // With the policy's headers, the page then sees the 502 itself rather than a CORS error.
  return await sent.catch(() => new Response('corsguard: the upstream did not answer\n', { status: 502 }));
}

export default { fetch: withCors(policy, forward) } satisfies Deno.ServeDefaultExport;
