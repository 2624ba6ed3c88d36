// Drives one real browser engine through its own automation protocol: Debian's Chromium through
// playwright-core (CDP), Debian's Firefox ESR through puppeteer-core (WebDriver BiDi), and
// WebKitGTK's MiniBrowser through WebKitWebDriver and selenium-webdriver (WebDriver; run it under
// xvfb-run, MiniBrowser has no headless mode). For each scenario, a page at `page` makes one
// fetch() (or `repeat` of them) and reports what its script could read and the CORS console
// messages the engine printed (Chromium and Firefox; WebKitWebDriver has no way to read them).
// Input: a JSON file (argv[2]) with `engine`, `binary`, `hostMap` (names that resolve to
// 127.0.0.1), `scenarios`, and optionally `clockShift` (`{ library, file }`: the engine runs with
// tests/browser/clock_shift.c preloaded, and a scenario's `shifts` move its monotonic clock to so
// many seconds ahead before each attempt); output: JSON on stdout, `{ version, results }`, each
// attempt with `at`, the driver's wall-clock milliseconds before and after it.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
/** The engine's environment: ours, with the clock shim when the scenarios move the clock. */
const env = config.clockShift
  ? { ...process.env, LD_PRELOAD: config.clockShift.library, CLOCK_SHIFT_FILE: config.clockShift.file }
  : process.env;
/** Moves the engine's monotonic clock to `seconds` ahead of the real one: written in place, never
 * truncated (the engine maps the file, and reading past its end would kill it with SIGBUS). */
function shiftClock(seconds) {
  const value = Buffer.alloc(8);
  value.writeBigInt64LE(BigInt(seconds));
  const file = fs.openSync(config.clockShift.file, "r+");
  try {
    fs.writeSync(file, value, 0, 8, 0);
  } finally {
    fs.closeSync(file);
  }
}
if (config.clockShift) fs.writeFileSync(config.clockShift.file, Buffer.alloc(8));

/** What runs in the page: the scenario's fetch, and what the script could read of its answer. */
async function attempt({ url, init, readHeader }) {
  try {
    const response = await fetch(url, init);
    return { ok: true, status: response.status, body: await response.text(),
             header: readHeader ? response.headers.get(readHeader) : null };
  } catch (error) {
    return { ok: false, error: String(error) };
  }
}

/** Each engine as `{ version, open(url) -> { run(fn, arg), visit(url), messages, close() }, close() }`. */
const engines = {
  async chromium() {
    const { chromium } = await import("playwright-core");
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "corsguard-chromium-"));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: config.binary,
      headless: true,
      timeout: 30_000,
      env,
      args: [
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        `--host-resolver-rules=${config.hostMap.map((name) => `MAP ${name} 127.0.0.1`).join(",")}`,
      ],
    });
    const first = browser.pages()[0] ?? await browser.newPage();
    const { product } = await (await browser.newCDPSession(first)).send("Browser.getVersion");
    return {
      version: product.replace(/^\w*Chrome\//, "Chromium "),
      async open(url) {
        const page = await browser.newPage();
        const cdp = await browser.newCDPSession(page);
        const messages = [];
        cdp.on("Log.entryAdded", ({ entry }) => messages.push(entry.text)); // Chromium's own messages
        await cdp.send("Log.enable");
        const visit = (to) => page.goto(to, { timeout: 15_000 });
        await visit(url);
        return { run: (fn, arg) => page.evaluate(fn, arg), visit, messages, close: () => page.close() };
      },
      async close() {
        await browser.close();
        fs.rmSync(profile, { recursive: true, force: true });
      },
    };
  },

  async firefox() {
    const { default: puppeteer } = await import("puppeteer-core");
    // Firefox resolves *.localhost to loopback itself; other names (a trailing dot) need every name
    // forced to loopback, and then Firefox drops the preflights it cached before a DNS refresh
    // (observed: those of its first seconds, and all of them when its clock moves).
    const native = config.hostMap.every((name) => name.endsWith(".localhost"));
    const browser = await puppeteer.launch({
      browser: "firefox", executablePath: config.binary, headless: true, timeout: 30_000, env,
      extraPrefsFirefox: native ? {} : { "network.dns.forceResolve": "127.0.0.1" },
    });
    return {
      version: (await browser.version()).replace(/^firefox\//i, "Firefox "),
      async open(url) {
        const page = await browser.newPage();
        const messages = [];
        // Firefox reports a CORS refusal as an error of the page (BiDi's log.entryAdded).
        page.on("pageerror", (error) => messages.push(error.message));
        page.on("console", (message) => messages.push(message.text()));
        const visit = (to) => page.goto(to, { timeout: 15_000 });
        await visit(url);
        return { run: (fn, arg) => page.evaluate(fn, arg), visit, messages, close: () => page.close() };
      },
      close: () => browser.close(),
    };
  },

  async webkit() {
    const { Builder } = await import("selenium-webdriver");
    const port = await new Promise((resolve) => {
      const server = net.createServer().listen(0, "127.0.0.1", () => {
        const { port: free } = server.address();
        server.close(() => resolve(free));
      });
    });
    const webdriver = spawn("WebKitWebDriver", [`--port=${port}`, "--host=127.0.0.1"], { stdio: "ignore", env });
    for (let tries = 0; ; tries++) {
      const up = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.ok, () => false);
      if (up) break;
      if (tries > 100) throw new Error("WebKitWebDriver did not start");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const driver = await new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities({
      browserName: "MiniBrowser",
      "webkitgtk:browserOptions": { binary: config.binary, args: ["--automation"] },
    }).build();
    await driver.manage().setTimeouts({ script: 30_000, pageLoad: 15_000 });
    const capabilities = await driver.getCapabilities();
    const call = (fn, arg) => driver.executeAsyncScript(
      `const done = arguments[arguments.length - 1]; (${fn})(arguments[0]).then(done, (e) => done(String(e)));`, arg);
    return {
      version: `WebKitGTK ${capabilities.get("browserVersion") ?? ""}`.trim(),
      async open(url) {
        await driver.get(url);
        return { run: call, visit: (to) => driver.get(to), messages: [], close: async () => {} };
      },
      async close() {
        await driver.quit();
        webdriver.kill();
      },
    };
  },
};

const engine = await engines[config.engine]();
const results = [];
try {
  for (const scenario of config.scenarios) {
    // A cookie the API sets first, as the site it is (WebKit keeps no cookie that a cross-origin
    // subresource sets); it is same-site, so its SameSite=Lax cookie travels on the fetch.
    const page = await engine.open(scenario.setCookie ?? scenario.page);
    try {
      if (scenario.setCookie) await page.visit(scenario.page);
      const attempts = [];
      for (let i = 0; i < (scenario.shifts?.length ?? scenario.repeat ?? 1); i++) {
        if (scenario.shifts) {
          shiftClock(scenario.shifts[i]);
          await new Promise((resolve) => setTimeout(resolve, 200)); // the engine's timers catch up first
        }
        const before = Date.now();
        const result = await page.run(attempt, scenario);
        attempts.push({ ...result, at: [before, Date.now()] });
      }
      // Console messages arrive asynchronously; give a refused fetch's message a moment to land.
      if (attempts.some((a) => !a.ok)) await new Promise((resolve) => setTimeout(resolve, 300));
      const cors = page.messages.filter((m) => m.includes("CORS") || m.includes("Cross-Origin"));
      results.push({ name: scenario.name, attempts, console: cors });
    } finally {
      await page.close();
    }
  }
} finally {
  await engine.close();
}
process.stdout.write(JSON.stringify({ version: engine.version, results }));
