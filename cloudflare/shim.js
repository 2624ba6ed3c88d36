// corsguard's Worker entry point: worker-build's CUSTOM_SHIM template (it fills in the $-names and
// bundles this with esbuild). The Rust `fetch` export is the handler itself: a plain module Worker,
// without the per-request entrypoint class and proxies of worker-build's panic-recovery shim. That
// shim exists to re-instantiate a Wasm module after a panic; this crate denies every panicking
// construct (unwrap, expect, indexing, panic!), and a trap would fail closed (a 500 without CORS
// headers), never open.
import * as imports from "./index_bg.js";
import wasmModule from "./index.wasm";
$SNIPPET_JS_IMPORTS

const instance = new WebAssembly.Instance(wasmModule, {
  "./index_bg.js": imports,
  $SNIPPET_WASM_IMPORTS
});
imports.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();

export default {
  fetch(request, env, ctx) {
    return imports.fetch(request, env, ctx);
  },
};
