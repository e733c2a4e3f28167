// A Convoy that requires an API token for changes: the dashboard asks for it once, and the
// action goes through; a wrong token is refused with the API's sentence.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, openPage, startConvoy, withFailureShots } from "./convoy.js";

const TOKEN = "e2e-api-token";

let convoy;
let browser;

before(async () => {
  convoy = await startConvoy({ apiToken: TOKEN });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await convoy?.stop();
});

test("the dashboard asks for the API token when changes need one", async () => {
  const pages = [];
  await withFailureShots("token", pages, async () => {
    const { page, errors } = await openPage(browser);
    pages.push(page);
    const prompts = [];
    // First a wrong token (refused), then the right one.
    const answers = ["wrong-token", TOKEN];
    page.on("dialog", (dialog) => {
      prompts.push(dialog.message());
      dialog.accept(answers.shift());
    });

    await page.goto(`${convoy.url}/releases/new`);
    await page.fill("#app_project", "mobile/app");
    await page.fill("#app_ref", "release/2.0.0");
    await page.click("button[type=submit]");
    // The wrong token: the API's sentence is shown and nothing is created.
    await page.waitForFunction(() => document.body.innerText.includes("API token"), null, { timeout: 30_000 });
    assert.equal(prompts.length, 1);
    assert.match(page.url(), /\/releases\/new$/);

    await page.click("button[type=submit]");
    await page.waitForURL(/\/releases\/\d+$/, { timeout: 30_000 });
    assert.equal(prompts.length, 2);
    assert.match(prompts[1], /API token/);
    // 401s are expected here (the browser logs each refused request); nothing else.
    assert.deepEqual(errors.filter((e) => !e.includes("401")), []);
  });
});
