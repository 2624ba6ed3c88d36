// The comparison: a JavaScript Worker using Hono's `cors` middleware, with corsguard's policy file
// translated into Hono's options (CORS_POLICY, the same JSON), forwarding to UPSTREAM.
import { Hono } from "hono";
import { cors } from "hono/cors";

// "https://*.example.com" (any subdomain) and "http://localhost:*" (any port), as corsguard reads them.
function matcher(origins) {
  const exact = new Set(origins.filter((o) => !o.includes("*")));
  const patterns = origins.filter((o) => o.includes("*")).map((o) => {
    const escaped = o.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    return new RegExp("^" + escaped.replace("://\\*.", "://(?:[a-z0-9-]+\\.)+").replace(":\\*", ":\\d{1,5}") + "$");
  });
  return (origin) => (exact.has(origin) || patterns.some((p) => p.test(origin)) ? origin : null);
}

let app;
function build(env) {
  const policy = JSON.parse(env.CORS_POLICY);
  const upstream = env.UPSTREAM;
  const built = new Hono();
  built.use("*", cors({
    origin: matcher(policy.origins),
    allowMethods: policy.methods,
    allowHeaders: policy.request_headers,
    exposeHeaders: policy.expose_headers,
    credentials: policy.credentials,
    maxAge: policy.max_age,
  }));
  built.all("*", (c) => {
    const url = new URL(c.req.url);
    return fetch(new Request(upstream + url.pathname + url.search, c.req.raw));
  });
  return built;
}

export default {
  fetch(request, env, ctx) {
    app ??= build(env);
    return app.fetch(request, env, ctx);
  },
};
