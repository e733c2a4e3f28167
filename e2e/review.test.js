// A release that requires review: the release manager deploys one component, its owner marks
// its merge request reviewed, it is released; then the release is canceled.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, openPage, screenshot, startConvoy, withFailureShots, signIn } from "./convoy.js";

const RELEASE_TIMEOUT_MS = 120_000;

let convoy;
let browser;

before(async () => {
  convoy = await startConvoy();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await convoy?.stop();
});

test("one component is deployed, reviewed and released, then the release is canceled", async () => {
  const pages = [];
  await withFailureShots("review", pages, async () => {
    const { page, errors } = await openPage(browser);
    await signIn(page, convoy);
    pages.push(page);
    page.on("dialog", (dialog) => dialog.accept());

    await page.goto(`${convoy.url}/releases/new`);
    await page.fill("#app_project", "mobile/app");
    await page.fill("#app_ref", "release/2.0.0");
    await page.check("#require_review");
    await page.click("button[type=submit]");
    await page.waitForURL(/\/releases\/\d+$/);
    await page.waitForSelector("#release-state .state-waiting", { timeout: 60_000 });

    // Deploy CoreKit alone: it opens its merge request and waits for a review.
    const core = page.locator('#components tr[data-name="CoreKit"]');
    await core.locator('button[data-action="deploy"]').click();
    await page.waitForSelector('#components tr[data-name="CoreKit"] button[data-action="mark_reviewed"]', { timeout: 60_000 });
    assert.equal(await core.locator("td").nth(3).innerText(), "no");
    await screenshot(page, "21-waiting-for-review");

    await core.locator('button[data-action="mark_reviewed"]').click();
    await page.waitForFunction(() =>
      document.querySelector('#components tr[data-name="CoreKit"] td:nth-child(4)')?.textContent === "yes");
    await page.waitForSelector('#components tr[data-name="CoreKit"][data-state="success"]', { timeout: RELEASE_TIMEOUT_MS });
    // The others were not deployed.
    assert.equal(await page.locator('#components tr[data-name="FeatureKit"]').getAttribute("data-state"), "waiting");
    await screenshot(page, "22-one-component-released");

    await page.click('#release-actions button[data-action="cancel"]');
    await page.waitForSelector("#release-state .state-canceled", { timeout: 30_000 });
    await page.waitForSelector('#components tr[data-name="FeatureKit"][data-state="canceled"]', { timeout: 30_000 });
    assert.equal(await page.locator('#components tr[data-name="CoreKit"]').getAttribute("data-state"), "success");
    assert.equal(await page.locator("#release-actions button").count(), 0);
    await screenshot(page, "23-canceled");

    assert.deepEqual(errors, []);
  });
});
