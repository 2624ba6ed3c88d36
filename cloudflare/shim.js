// corsguard's Worker entry point, bundled with wasm-bindgen's glue by build.sh: a plain module
// Worker around the Rust `fetch` export, which returns either the answer (a Response) or a Forward:
// a request to send on, and what to do with the answer. The shim only does the sending, so that the
// wait for the upstream is an ordinary promise chain.
//
// Nothing re-instantiates the module after a panic: the crate denies every panicking construct
// (unwrap, expect, indexing, panic!), and a trap would fail closed (a 500 without CORS headers).
import { env } from "cloudflare:workers";
import * as imports from "./index_bg.js";
import wasmModule from "./index.wasm";

const instance = new WebAssembly.Instance(wasmModule, { "./index_bg.js": imports });
imports.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();
// Validate the policy now: its problems are logged as the Worker starts (wrangler dev shows them at
// once), and every request gets the 500 that names them.
if (env) imports.load_policy(env);

export default {
  fetch(request, env, ctx) {
    const answer = imports.fetch(request, env, ctx);
    if (!(answer instanceof imports.Forward)) return answer;
    // UPSTREAM_TIMEOUT bounds the wait for the answer's head, not its body's streaming.
    const limit = answer.timeout;
    if (limit === undefined) return fetch(answer.request).then((r) => answer.edit(r), (e) => answer.fail(e, false));
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, limit);
    return fetch(answer.request, { signal: abort.signal }).then(
      (response) => {
        clearTimeout(timer);
        return answer.edit(response);
      },
      (error) => {
        clearTimeout(timer);
        return answer.fail(error, timedOut);
      },
    );
  },
};
