// Types for the corsguard package: every entry (`corsguard.js`, `node.js`, `deno.js`) has this API.

/** One problem of a policy: an error refuses the policy, a warning does not. */
export interface Problem {
  severity: 'error' | 'warning';
  /** A stable code, such as `trailing-slash` or `invalid-json`. */
  code: string;
  /** Where in the policy file, such as `routes[1].origins[0]`; `''` for the whole file. */
  path: string;
  message: string;
}

/** Thrown by `Policy.parse`: `message` lists every problem, `problems` holds them. */
export class PolicyError extends Error {
  constructor(message: string, problems: Problem[]);
  readonly name: 'PolicyError';
  problems: Problem[];
}

/** Why a request was denied: a reason code, with the header's name for `header-not-allowed`. */
export type Denial =
  | 'origin-not-allowed'
  | 'method-not-allowed'
  | `header-not-allowed: ${string}`
  | 'private-network-not-allowed'
  | 'malformed-request';

/** Header lines as `[name, value]` pairs, in order. */
export type HeaderPairs = [name: string, value: string][];

/** Forward the request; these edits go onto the response (`Policy.applyEdits`). */
export interface ForwardAction {
  type: 'forward';
  headers: HeaderPairs;
  /** Whether `Origin` joins `Vary`. */
  varyOrigin: boolean;
}

/** Answer at the edge (a preflight) with this status and these headers, and no body. */
export interface RespondAction {
  type: 'respond';
  status: number;
  headers: HeaderPairs;
}

/** Forward the request and leave the response as it is. */
export interface PassThroughAction {
  type: 'pass-through';
}

export type Action = ForwardAction | RespondAction | PassThroughAction;

/** What to do with one request, as plain data. */
export interface Decision {
  kind: 'preflight' | 'actual' | 'no_origin';
  denial: Denial | null;
  /** `route-disabled`: the route has `disabled: true`. */
  enforcement: 'enforced' | 'report-only' | 'route-disabled';
  action: Action;
  /**
   * A denial as the one JSON line every corsguard edge logs (`{"corsguard":"denial","kind":...,
   * "reason":...,"mode":...,"route":...,"origin":...}`), or `null` when nothing was denied.
   */
  denialLine: string | null;
}

/** What the engine reads of a request. Absent headers are `undefined`. */
export interface RequestView {
  method: string;
  scheme?: string;
  host: string;
  /** The path and query, as sent on. */
  path: string;
  origin?: string;
  requestMethod?: string;
  requestHeaders?: string;
  requestPrivateNetwork?: string;
}

/** A request as plain data; `headers` holds the CORS request headers. */
export interface PlainRequest {
  method?: string;
  scheme?: string;
  host?: string;
  path?: string;
  url?: string;
  headers?: Pick<Headers, 'get'> | Record<string, string>;
}

/** The engine's view of a Fetch `Request` or a plain request; a URL is read as the WHATWG parser reads it. */
export function requestView(request: Request | PlainRequest): RequestView;

/** A validated, compiled CORS policy. */
export class Policy {
  private constructor();
  /**
   * Reads and validates a policy file's text (see `policy.schema.json`). Throws a `PolicyError`
   * listing every problem; a policy with any error is never used. Anything but a string is a
   * `TypeError`: an object has already lost any key given twice, which corsguard refuses, so
   * read or import the file as text (`import policy from './policy.json' with { type: 'text' }`).
   */
  static parse(text: string): Policy;
  /** The warnings of a policy that loaded. */
  readonly warnings: Problem[];
  /**
   * Decides what to do with a request: a Fetch `Request`, a plain request or a view; `requestId`,
   * the host's id of the request if it has one, goes into the denial line.
   */
  evaluate(request: Request | PlainRequest | Partial<RequestView>, requestId?: string): Decision;
  /** Applies a `forward` action's edits to response headers, in place; returns them. */
  applyEdits<H extends HeadersLike>(action: ForwardAction, headers: H): H;
  /** Frees the compiled policy now rather than when it is garbage-collected. */
  free(): void;
}

/** A Fetch `Headers`, or anything with its `get`, `set` and `delete`. */
export interface HeadersLike {
  get(name: string): string | null | undefined;
  set(name: string, value: string): void;
  delete(name: string): void;
}

/**
 * Wraps a Fetch handler with the policy: preflights are answered without calling it; other
 * responses get the policy's CORS headers, their bodies streamed untouched; a handler that throws
 * gets a `500` with them (the error goes to `console.error`). Extra arguments (a platform's
 * context) are passed on.
 */
export function withCors<Rest extends unknown[]>(
  policy: Policy,
  handler: (request: Request, ...rest: Rest) => Response | Promise<Response>,
): (request: Request, ...rest: Rest) => Promise<Response>;

/** What `init` and `initSync` take: the module, its bytes, or (for `init`) where to fetch it. */
export type ModuleSource = WebAssembly.Module | BufferSource;

/** Initialises the engine of the default entry (`node.js` and `deno.js` initialise themselves). */
export function init(options?: { module_or_path?: ModuleSource | URL | Request | string | Response | Promise<Response> }): Promise<unknown>;

/** Initialises the engine of the default entry synchronously. */
export function initSync(options: { module: ModuleSource }): unknown;
