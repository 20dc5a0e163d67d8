// Browser check: headless Chromium (Debian's package) loads the --web chat,
// sends a no-LLM message, and waits for the reply and the tool-call panel.
// Usage: node browser.cjs URL CHROMIUM_PATH SCREENSHOT_PATH   (NODE_PATH points at node_modules)
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { chromium } = require("playwright-core");

async function main() {
  const [url, executablePath, shot] = process.argv.slice(2);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "agent-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1100, height: 800 },
  });
  let passed = 0;
  try {
    const page = context.pages()[0] || (await context.newPage());
    const external = [];
    page.on("request", (r) => { if (!r.url().startsWith(url)) external.push(r.url()); });
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(url + "/");
    await page.fill("#input", 'hub_repos list {"namespace":"acme","page_size":3}');
    await page.click("#send");
    await page.waitForSelector(".tool .status.ok", { timeout: 15000 });
    passed += 1;
    const reply = page.locator(".msg.assistant .body").filter({ hasText: "hub_repos.list: HTTP 200" });
    await reply.first().waitFor({ timeout: 15000 });
    passed += 1;
    await page.click(".tool > details > summary");
    await page.waitForSelector(".tool details.json pre");
    const toolName = await page.textContent(".tool > details > summary");
    if (!toolName.includes("hub_repos.list")) throw new Error(`tool panel shows ${toolName}`);
    const rate = await page.textContent("#ratelimit");
    if (!/\d+\/\d+/.test(rate)) throw new Error(`rate limit not shown: ${rate}`);
    passed += 1;
    // an error is shown too
    await page.fill("#input", "hub_repos get namespace=acme repository=ghost");
    await page.click("#send");
    await page.waitForSelector(".msg.error", { timeout: 15000 });
    passed += 1;
    await page.screenshot({ path: shot, fullPage: true });
    if (external.length) throw new Error(`fetched from outside: ${external.join(", ")}`);
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
    passed += 1;
    console.log(`browser: ${passed} passed, 0 failed (screenshot ${shot})`);
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
