// Starts a whole Convoy (server + worker + GitLab simulator: `convoy demo`) and Debian's
// chromium for the browser tests, and stops both afterwards.

import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ARTIFACTS = path.join(ROOT, "e2e", "artifacts");
const BIN = path.resolve(ROOT, process.env.CONVOY_BIN || "target/debug/convoy");
const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const START_TIMEOUT_MS = 120_000;

mkdirSync(ARTIFACTS, { recursive: true });

// Runs `convoy demo` on a free port with no release started; resolves once it prints
// "dashboard: http://127.0.0.1:PORT/". `scenario` is a scenario YAML file (default: built in).
export function startConvoy({ scenario } = {}) {
  const args = ["demo", "--listen", "127.0.0.1:0", "--no-release"];
  if (scenario) args.push("--scenario", scenario);
  const child = spawn(BIN, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`convoy demo printed no dashboard URL in ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    function fail(err) {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${err.message}\n--- convoy output ---\n${output}`));
    }
    child.on("error", (err) => fail(new Error(`cannot start ${BIN} (build it with \`cargo build -p convoy-cli\` or set CONVOY_BIN): ${err.message}`)));
    child.on("exit", (code) => fail(new Error(`convoy demo exited with ${code} before it was ready`)));
    child.stderr.on("data", (chunk) => { output += chunk; });
    child.stdout.on("data", (chunk) => {
      output += chunk;
      const match = output.match(/^dashboard: (http:\/\/\S+?)\/?$/m);
      const simulator = output.match(/^GitLab simulator: (http:\/\/\S+?)\/?$/m);
      if (!match || !simulator) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      resolve({ url: match[1], simulatorUrl: simulator[1], stop: () => stop(child), output: () => output });
    });
  });
}

function stop(child) {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.on("exit", () => {
      clearTimeout(force);
      resolve();
    });
    // The demo stops on Ctrl-C (SIGINT), as it tells a person to.
    child.kill("SIGINT");
  });
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

// A page that fails the test on any script error, with a laptop-sized window.
export async function openPage(browser) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (err) => errors.push(err.message));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  return { page, errors };
}

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

// The built-in demo scenario with `edit(text)` applied, written under artifacts/.
export function demoScenarioWith(name, edit) {
  const demo = readFileSync(path.join(ROOT, "simulator", "scenarios", "demo.yaml"), "utf8");
  const changed = edit(demo);
  if (changed === demo) throw new Error(`the ${name} scenario edit changed nothing in demo.yaml`);
  const file = path.join(ARTIFACTS, `${name}.yaml`);
  writeFileSync(file, changed);
  return file;
}

// Marks the document so a test can tell whether the page was reloaded since.
export async function markDocument(page) {
  await page.evaluate(() => { window.__convoyNoReload = true; });
}

export async function documentWasKept(page) {
  return page.evaluate(() => window.__convoyNoReload === true);
}

// Runs `body()`; when it throws, first saves a screenshot of every page in `pages` (it may
// still be filling up) so the failure can be seen.
export async function withFailureShots(name, pages, body) {
  try {
    await body();
  } catch (err) {
    for (const [i, page] of pages.entries()) {
      await screenshot(page, `failure-${name}-${i + 1}`).catch(() => {});
    }
    throw err;
  }
}

// Signs `username` in through Convoy's "Sign in with GitLab" and the simulator's OAuth page
// (one button per user), and waits until the dashboard shows them signed in.
export async function signIn(page, convoy, username = "rosa") {
  await page.goto(`${convoy.url}/auth/sign-in`);
  await page.click(`button[name=username][value=${username}]`);
  await page.waitForURL(`${convoy.url}/`, { timeout: 30_000 });
  await page.waitForFunction((name) => document.getElementById("actor-name")?.textContent.includes(`@${name}`), username, { timeout: 30_000 });
}
