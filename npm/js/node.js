// corsguard for Node: the same API as `corsguard.js`, with the engine initialised from the
// `.wasm` file next to this one.
import { readFileSync } from 'node:fs';
import { initSync } from './corsguard.js';

initSync({ module: readFileSync(new URL('./engine_bg.wasm', import.meta.url)) });

export * from './corsguard.js';
