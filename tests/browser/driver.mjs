// Drives Debian's Chromium through playwright-core: for each scenario, a page at `pageOrigin`
// makes one fetch() and reports what its script could read, the CORS console messages Chromium
// printed, and (for repeated requests) each attempt. Input: a JSON file (argv[2]); output: JSON on
// stdout. All names in `hostMap` resolve to 127.0.0.1, so no traffic leaves the machine.
import { chromium } from "playwright-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "corsguard-chromium-"));
const hostRules = config.hostMap.map((name) => `MAP ${name} 127.0.0.1`).join(",");

const browser = await chromium.launchPersistentContext(profile, {
  executablePath: config.chromium,
  headless: true,
  timeout: 30_000,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--host-resolver-rules=${hostRules}`,
  ],
});

/** Runs one scenario in a fresh page; the messages are Chromium's own (the DevTools Log domain). */
async function run(scenario) {
  const page = await browser.newPage();
  const cdp = await browser.newCDPSession(page);
  const messages = [];
  cdp.on("Log.entryAdded", ({ entry }) => messages.push(entry.text));
  await cdp.send("Log.enable");
  try {
    await page.goto(scenario.page, { timeout: 15_000 });
    if (scenario.setCookie) {
      // The API sets a cookie first (same-site, so SameSite=Lax cookies travel on cross-origin fetches).
      await page.evaluate((url) => fetch(url, { credentials: "include", mode: "no-cors" }), scenario.setCookie);
    }
    const attempts = [];
    for (let i = 0; i < (scenario.repeat ?? 1); i++) {
      attempts.push(await page.evaluate(async ({ url, init, readHeader }) => {
        try {
          const response = await fetch(url, init);
          return { ok: true, status: response.status, body: await response.text(),
                   header: readHeader ? response.headers.get(readHeader) : null };
        } catch (error) {
          return { ok: false, error: String(error) };
        }
      }, scenario));
    }
    // Console messages arrive asynchronously; give a refused fetch's message a moment to land.
    if (attempts.some((a) => !a.ok)) await page.waitForTimeout(300);
    return { name: scenario.name, attempts, console: messages.filter((m) => m.includes("CORS")) };
  } finally {
    await page.close();
  }
}

const results = [];
try {
  for (const scenario of config.scenarios) results.push(await run(scenario));
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(results));
