// Serves a Netlify Edge Function as Netlify runs one in front of a site: on the paths of its
// `config`, it gets the request and a `context` whose `next()` is the site's answer (here the test
// upstream, UPSTREAM); other paths go to the site untouched.
import edge, { config } from './netlify/edge-functions/cors.ts';

const site = Deno.env.get('UPSTREAM')!;
const paths = new URLPattern({ pathname: config.path });

function next(request: Request): Promise<Response> {
  const { pathname, search } = new URL(request.url);
  return fetch(site + pathname + search, { method: request.method, headers: request.headers, body: request.body, redirect: 'manual' });
}

export default {
  fetch: (request: Request) => paths.test(request.url) ? edge(request, { next: () => next(request) }) : next(request),
} satisfies Deno.ServeDefaultExport;
