// corsguard for Deno: the same API as `corsguard.js`, with the engine initialised from the
// `.wasm` file next to this one, imported as a module source (so no read permission is needed,
// and bundlers of Deno's module graph carry the `.wasm` along).
import source engine from './engine_bg.wasm';
import { initSync } from './corsguard.js';

initSync({ module: engine });

export * from './corsguard.js';
