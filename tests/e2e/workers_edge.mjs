// Serves several Workers from one real workerd (through miniflare's API, as wrangler dev does), each
// on its own 127.0.0.1 port: one process, one start-up, however many policies a suite needs.
//
//   node workers_edge.mjs spec.json
//
// spec.json: {"compatibility_date": "...", "compatibility_flags": [...],
//             "workers": [{"name": "...", "port": 8787, "bindings": {...},
//                          "modules": [{"type": "ESModule", "path": "/abs/index.js"}, ...]}]}
// (the first module is the entry point; all are beside or below `root`, by default the entry point's
// folder; a .wasm one is {"type": "CompiledWasm", ...}). Prints one line
// `{"ready": true}` once every port serves, then runs until stdin closes or it is signalled.

import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";

const spec = JSON.parse(readFileSync(process.argv[2], "utf8"));

// Miniflare 5 takes its version 4 options (the documented ones) through this converter.
const mf = new Miniflare(convertV4MiniflareOptions({
  host: "127.0.0.1",
  port: 0,
  cf: false, // offline: never fetch the `request.cf` placeholder
  log: new Log(LogLevel.WARN),
  workers: spec.workers.map((worker) => ({
    name: worker.name,
    modules: worker.modules,
    modulesRoot: worker.root ?? dirname(worker.modules[0].path), // modules are named relative to it
    compatibilityDate: spec.compatibility_date,
    compatibilityFlags: spec.compatibility_flags ?? [],
    bindings: worker.bindings ?? {},
    unsafeDirectSockets: [{ host: "127.0.0.1", port: worker.port }],
  })),
}));

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try {
    await mf.dispose();
  } finally {
    process.exit(code);
  }
}
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => stop(0));
process.stdin.on("end", () => stop(0));
process.stdin.resume();

try {
  await mf.ready;
  process.stdout.write(JSON.stringify({ ready: true }) + "\n");
} catch (error) {
  process.stderr.write(`workers_edge: ${error?.stack ?? error}\n`);
  await stop(1);
}
