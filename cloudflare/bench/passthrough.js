// The baseline: a Worker that only forwards to UPSTREAM, CORS untouched.
export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(new Request(env.UPSTREAM + url.pathname + url.search, request));
  },
};
