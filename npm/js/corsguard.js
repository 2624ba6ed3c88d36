// corsguard for JavaScript edges: the policy engine (compiled to WebAssembly with wasm-bindgen) and a
// Fetch-API helper for any `(Request) => Response` handler.
//
// This entry works wherever `await init()` can fetch `engine_bg.wasm` next to it (Deno, browsers,
// bundlers), or after `initSync({ module })` with the module's bytes or a `WebAssembly.Module`
// (edge runtimes that import .wasm files). Node uses `node.js`, which initialises itself.
import init, { initSync, Engine, applyEdits } from './engine.js';

export { init, initSync };

/** Thrown by `Policy.parse`: `message` lists every problem, `problems` holds them (`[{ severity, code, path, message }]`). */
export class PolicyError extends Error {
  constructor(message, problems) {
    super(message);
    this.name = 'PolicyError';
    this.problems = problems;
  }
}

/**
 * The request view the engine reads, from a Fetch `Request` or from a plain object
 * `{ method, scheme, host, path, headers }` (`headers`: a `Headers` or anything with its `get`, or
 * an object of name → value). A URL is read as the WHATWG URL parser reads it, as `fetch` and
 * handlers do.
 */
export function requestView(request) {
  const headers = typeof request.headers?.get === 'function' ? request.headers : new Headers(request.headers ?? {});
  let { scheme, host, path } = request;
  if (request.url !== undefined && (scheme === undefined || host === undefined || path === undefined)) {
    const url = new URL(request.url);
    scheme ??= url.protocol.replace(/:$/, '');
    host ??= url.host;
    path ??= url.pathname + url.search;
  }
  const value = (name) => headers.get(name) ?? undefined;
  return {
    method: request.method ?? 'GET',
    scheme,
    host: host ?? value('host') ?? '',
    path: path ?? '/',
    origin: value('origin'),
    requestMethod: value('access-control-request-method'),
    requestHeaders: value('access-control-request-headers'),
    requestPrivateNetwork: value('access-control-request-private-network'),
  };
}

/** A validated, compiled CORS policy. */
export class Policy {
  #engine;

  constructor(engine) {
    this.#engine = engine;
  }

  /**
   * Reads and validates a policy file's text. Throws a `PolicyError` listing every problem; a
   * policy with any error is never used. Anything but a string is a `TypeError`: an object made by
   * `JSON.parse` (or a JSON module import) has already lost any key given twice, keeping the last,
   * which the engine refuses; read or import the file as text instead.
   */
  static parse(text) {
    if (typeof text !== 'string') {
      throw new TypeError(
        "corsguard: Policy.parse takes the policy file's text (a string): an object made by JSON.parse has already " +
          'lost any key given twice (the last one wins), which corsguard refuses. Import the file as text ' +
          "(import policy from './policy.json' with { type: 'text' }) or read it (readFileSync(path, 'utf8')).",
      );
    }
    try {
      return new Policy(Engine.parse(text));
    } catch (error) {
      if (Array.isArray(error?.problems)) throw new PolicyError(error.message, error.problems);
      throw error;
    }
  }

  /** The warnings of a policy that loaded: `[{ severity: 'warning', code, path, message }]`. */
  get warnings() {
    return this.#engine.warnings();
  }

  /**
   * Decides what to do with a request: a Fetch `Request`, a plain `{ method, scheme, host, path,
   * headers }`, or a view as `requestView` makes (`{ method, scheme, host, path, origin, ... }`, no
   * `headers`); `requestId`, if the host has one, goes into the denial line. Returns `{ kind,
   * denial, enforcement, action, denialLine }`: `kind` is `preflight`, `actual` or
   * `no_origin`; `denial` a reason (`header-not-allowed: x-foo`) or null; `enforcement` is
   * `enforced`, `report-only` or `route-disabled` (the route has `disabled: true`); `action`
   * one of `{ type: 'pass-through' }`, `{ type: 'respond', status, headers: [[name, value]] }` and
   * `{ type: 'forward', headers: [[name, value]], varyOrigin }`; `denialLine` the one JSON line
   * every corsguard edge logs for a denial, or null.
   */
  evaluate(request, requestId) {
    const view = request.url !== undefined || request.headers !== undefined ? requestView(request) : request;
    return this.#engine.evaluate(
      view.method ?? 'GET',
      view.scheme ?? undefined,
      view.host ?? '',
      view.path ?? '/',
      view.origin ?? undefined,
      view.requestMethod ?? undefined,
      view.requestHeaders ?? undefined,
      view.requestPrivateNetwork ?? undefined,
      requestId ?? undefined,
    );
  }

  /**
   * Applies a `forward` action's edits to response headers (a `Headers`, edited in place): the
   * upstream's CORS headers go, the policy's are set, `Origin` is merged into `Vary`.
   */
  applyEdits(action, headers) {
    applyEdits(action, headers);
    return headers;
  }

  /** Frees the compiled policy now rather than when it is garbage-collected. */
  free() {
    this.#engine.free();
  }
}

/**
 * Wraps a Fetch handler (`(request, ...rest) => Response | Promise<Response>`, as Deno, Vercel
 * and Netlify edge functions and Fastly's JavaScript runtime use) with the policy: preflights are
 * answered without calling it; other responses get the policy's CORS headers, in a new `Response`
 * whose body is the handler's, streamed untouched. A response below 200 (a `101` WebSocket upgrade)
 * passes unchanged: it is no CORS response, and `Response` cannot be built with its status. A
 * handler that throws gets a `500` with the policy's headers (so the page reads a 500, not a CORS
 * error), and the error goes to `console.error`, never to the client. Each denial is logged as one
 * line (`console.log`, the decision's `denialLine`).
 */
export function withCors(policy, handler) {
  return async function corsguard(request, ...rest) {
    const { action, denialLine } = policy.evaluate(request);
    if (denialLine !== null) console.log(denialLine);
    if (action.type === 'respond') {
      return new Response(null, { status: action.status, headers: action.headers });
    }
    let response;
    try {
      response = await handler(request, ...rest);
    } catch (error) {
      console.error('corsguard: the handler threw:', error);
      response = new Response('corsguard: the handler failed\n', {
        status: 500,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
      });
    }
    if (action.type === 'pass-through' || response.status < 200) return response;
    const headers = policy.applyEdits(action, new Headers(response.headers));
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };
}
