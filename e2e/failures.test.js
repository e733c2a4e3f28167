// A component's publish job fails: the dashboard says why (the job and its log), and the release
// manager marks it released by hand, with a reason, so the release finishes. The list page, open
// in another tab, follows along without a reload.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  demoScenarioWith, documentWasKept, launchBrowser, markDocument, openPage, screenshot, startConvoy,
  signIn, withFailureShots,
} from "./convoy.js";

const RELEASE_TIMEOUT_MS = 120_000;
const REASON = "Published by hand by the feature team after a CI outage.";

let convoy;
let browser;

before(async () => {
  // The demo, except that FeatureKit's publish job fails on its version tag.
  const scenario = demoScenarioWith("feature-kit-publish-fails", (yaml) =>
    yaml.replace(/^( {2}- path: ios\/feature-kit\n)/m, "$1    fail_tag_pipeline: true\n"));
  convoy = await startConvoy({ scenario });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await convoy?.stop();
});

test("a failed component says why and can be marked released with a reason", async () => {
  const pages = [];
  await withFailureShots("failures", pages, async () => {
    const list = await openPage(browser);
    await signIn(list.page, convoy);
    pages.push(list.page);
    await list.page.goto(convoy.url);
    await list.page.waitForSelector("#live-status[data-state=live]");
    await markDocument(list.page);

    const { page, errors } = await openPage(browser);

    await signIn(page, convoy);
    pages.push(page);
    await page.goto(`${convoy.url}/releases/new`);
    await page.fill("#app_project", "mobile/app");
    await page.fill("#app_ref", "release/2.0.0");
    await page.click("button[type=submit]");
    await page.waitForURL(/\/releases\/\d+$/);
    const id = page.url().match(/\/releases\/(\d+)$/)[1];

    // The list tab shows the new release without a reload.
    await list.page.waitForSelector(`tr[data-release-id="${id}"]`, { timeout: 30_000 });
    assert.ok(await documentWasKept(list.page), "the list was reloaded");

    await page.waitForSelector('#release-actions button[data-action="deploy"]', { timeout: 60_000 });
    await page.click('#release-actions button[data-action="deploy"]');

    const feature = page.locator('#components tr[data-name="FeatureKit"]');
    await page.waitForSelector('#components tr[data-name="FeatureKit"][data-state="failed"]', { timeout: RELEASE_TIMEOUT_MS });
    // It says why: the failing job and the end of its log.
    assert.match(await feature.locator("td.reason").innerText(), /publish/);
    assert.match(await page.locator("#release-reason").innerText(), /FeatureKit/);
    assert.equal(await page.locator('#dag g.dag-node[data-name="FeatureKit"]').getAttribute("data-state"), "failed");
    await screenshot(page, "11-failed-component");

    // Mark it released, with a reason.
    await feature.locator('button[data-action="mark_released"]').click();
    await page.waitForSelector("#reason-dialog[open]");
    await page.fill("#released-reason", REASON);
    await screenshot(page, "12-mark-released-dialog");
    await page.click('#reason-dialog button[value="confirm"]');
    await page.waitForSelector('#components tr[data-name="FeatureKit"][data-state="success"]', { timeout: 30_000 });
    await page.waitForSelector(`#timeline li:has-text("${REASON}")`);

    // Every component is released now: the release pins them in the Podfile and finishes.
    await page.waitForSelector("#release-state .state-success", { timeout: RELEASE_TIMEOUT_MS });
    await screenshot(page, "13-finished-after-mark-released");

    await list.page.waitForSelector(`tr[data-release-id="${id}"][data-state="success"]`, { timeout: 30_000 });
    assert.ok(await documentWasKept(list.page), "the list was reloaded");
    await screenshot(list.page, "14-list-followed-live");

    assert.deepEqual(errors, []);
    assert.deepEqual(list.errors, []);
  });
});
