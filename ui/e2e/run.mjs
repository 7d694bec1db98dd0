// End-to-end tests of the web UI: Debian's Chromium driven by playwright-core against a real
// `trailscope serve`. The Rust test `crates/cli/tests/it/ui.rs` starts the servers, loads the
// fixtures and demo data, and passes what it knows about them as JSON:
//
//   node e2e/run.mjs '{"base": "http://127.0.0.1:PORT", "authBase": "...", "token": "...",
//                      "from": "2015-01-01T00:00:00Z", "to": "now+1d", "ecsCount": 123, "shots": "dir"}'
//
// Each test gets a fresh page and leaves a screenshot in `shots`. Exit status 1 if any failed.

import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { tests } from "./tests.mjs";

const config = JSON.parse(process.argv[2] ?? "{}");
mkdirSync(config.shots, { recursive: true });
const only = process.env.E2E_ONLY;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
  ],
});

let failed = 0;
for (const [name, test] of Object.entries(tests)) {
  if (only && !name.includes(only)) continue;
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "UTC", locale: "en-US" });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.stack ?? e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/status of 4\d\d/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  const started = Date.now();
  try {
    await test(page, config);
    if (problems.length > 0) throw new Error(problems.join("\n"));
    console.log(`PASS ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name} (${Date.now() - started} ms)\n  ${String(e?.stack ?? e).split("\n").slice(0, 6).join("\n  ")}`);
  } finally {
    await page.screenshot({ path: join(config.shots, `${name}.png`) }).catch(() => {});
    await context.close();
  }
}
await browser.close();
console.log(failed === 0 ? "e2e: all passed" : `e2e: ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
