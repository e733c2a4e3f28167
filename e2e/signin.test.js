// Signing in with GitLab (the simulator's OAuth pages): the release manager sees every
// action, a component's owner only theirs, a viewer none; sign-out ends the session; a form on
// another site cannot make a change.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { demoScenarioWith, launchBrowser, openPage, signIn, startConvoy, withFailureShots } from "./convoy.js";

let convoy;
let browser;

before(async () => {
  // José also owns CoreKit here, the first component to wait for a review.
  const scenario = demoScenarioWith("signin", (demo) =>
    demo.replace("      ios/storage-kit: developer\n", "      ios/storage-kit: developer\n      ios/core-kit: developer\n"));
  convoy = await startConvoy({ scenario });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await convoy?.stop();
});

// Starts a release of the demo app as the release manager and waits for its plan.
async function plannedRelease(page, { review = false, on = convoy } = {}) {
  await page.goto(`${on.url}/releases/new`);
  await page.fill("#app_project", "mobile/app");
  await page.fill("#app_ref", "release/2.0.0");
  if (review) await page.check("#require_review");
  await page.click("button[type=submit]");
  await page.waitForURL(/\/releases\/\d+$/, { timeout: 30_000 });
  await page.waitForSelector("#release-actions button[data-action=deploy]", { timeout: 60_000 });
  return page.url();
}

test("a signed-out visitor is sent to sign in, and the release manager sees every action", async () => {
  const pages = [];
  await withFailureShots("signin-manager", pages, async () => {
    const { page, errors } = await openPage(browser);
    pages.push(page);
    const answer = await page.goto(convoy.url);
    assert.match(page.url(), /\/oauth\/authorize\?/, "the dashboard sends a visitor to GitLab");
    assert.ok(answer);
    await page.click("button[name=username][value=rosa]");
    await page.waitForURL(`${convoy.url}/`, { timeout: 30_000 });
    await page.waitForFunction(() => document.getElementById("actor-name")?.textContent.includes("Rosa Martínez (@rosa)"), null, { timeout: 30_000 });

    await plannedRelease(page);
    for (const action of ["deploy", "cancel"]) {
      assert.equal(await page.locator(`#release-actions button[data-action=${action}]`).count(), 1, action);
    }
    assert.ok(await page.locator("tr[data-name=StorageKit] input.version").count() === 1, "the release manager edits versions");
    // One active release per app and ref: cancel it, so that the next test can start its own.
    page.once("dialog", (dialog) => dialog.accept());
    await page.click('#release-actions button[data-action="cancel"]');
    await page.waitForSelector("#release-state .state-canceled", { timeout: 30_000 });

    await page.click("#sign-out");
    await page.waitForURL(/\/oauth\/authorize\?/, { timeout: 30_000 });
    assert.deepEqual(errors, []);
  });
});

test("a component's owner sees only their own actions, a viewer none", async () => {
  const pages = [];
  await withFailureShots("signin-owner", pages, async () => {
    const manager = await openPage(browser);
    pages.push(manager.page);
    await signIn(manager.page, convoy, "rosa");
    const releaseUrl = await plannedRelease(manager.page, { review: true });
    // The release manager deploys CoreKit alone: its merge request waits for a review.
    await manager.page.click('tr[data-name=CoreKit] button[data-action=deploy]');
    await manager.page.waitForSelector("tr[data-name=CoreKit] button[data-action=mark_reviewed]", { timeout: 60_000 });

    const owner = await openPage(browser);
    pages.push(owner.page);
    await signIn(owner.page, convoy, "jose");
    await owner.page.goto(releaseUrl);
    await owner.page.waitForSelector("tr[data-name=CoreKit] button[data-action=mark_reviewed]", { timeout: 30_000 });
    assert.equal(await owner.page.locator("#release-actions button").count(), 0, "no release actions for an owner");
    assert.equal(await owner.page.locator("tr[data-name=CoreKit] button").count(), 1, "only the owner's action");
    assert.equal(await owner.page.locator("tr[data-name=NetworkKit] button").count(), 0, "nothing on another's component");
    assert.equal(await owner.page.locator("input.version").count(), 0);
    // And the action works: the review gate opens.
    await owner.page.click("tr[data-name=CoreKit] button[data-action=mark_reviewed]");
    await owner.page.waitForFunction(() =>
      document.querySelector('#components tr[data-name="CoreKit"] td:nth-child(4)')?.textContent === "yes", null, { timeout: 30_000 });

    const viewer = await openPage(browser);
    pages.push(viewer.page);
    await signIn(viewer.page, convoy, "vera");
    await viewer.page.goto(releaseUrl);
    await viewer.page.waitForSelector("tr[data-name=StorageKit]", { timeout: 30_000 });
    // Give the permissions answer time to arrive: it can only hide, and nothing is shown.
    await viewer.page.waitForFunction(() => document.querySelectorAll("tr[data-name]").length === 4, null, { timeout: 30_000 });
    assert.equal(await viewer.page.locator("td.actions button, #release-actions button").count(), 0);
    for (const { errors } of [manager, owner, viewer]) assert.deepEqual(errors, []);
  });
});

test("a form on another site cannot cancel a release", async () => {
  const pages = [];
  await withFailureShots("signin-csrf", pages, async () => {
    // A Convoy of its own: the owner's test merged CoreKit, and GitLab deletes a merged
    // source branch, so the shared demo's app can no longer be analyzed again.
    const convoy = await startConvoy();
    after(() => convoy.stop());
    const { page } = await openPage(browser);
    pages.push(page);
    await signIn(page, convoy, "rosa");
    const releaseUrl = await plannedRelease(page, { on: convoy });
    const id = releaseUrl.match(/(\d+)$/)[1];

    // The simulator's origin stands for the other site: the browser still holds Rosa's cookie.
    const other = new URL(convoy.simulatorUrl);
    await page.goto(`${other.origin}/oauth/authorize`);
    const status = await page.evaluate(async (target) => {
      const form = document.createElement("form");
      form.method = "POST";
      form.action = target;
      document.body.append(form);
      const answer = new Promise((resolve) => {
        const frame = document.createElement("iframe");
        frame.name = "sink";
        document.body.append(frame);
        form.target = "sink";
        frame.addEventListener("load", () => resolve("loaded"));
      });
      form.submit();
      return answer;
    }, `${convoy.url}/api/v1/releases/${id}/cancel`);
    assert.equal(status, "loaded");
    const detail = await (await page.request.get(`${convoy.url}/api/v1/releases/${id}`)).json();
    assert.notEqual(detail.state, "canceled", "the cross-site POST changed nothing");
    const audit = await (await page.request.get(`${convoy.url}/api/v1/audit?release=${id}&action=cancel%20release`)).json();
    assert.ok(audit.entries.every((entry) => entry.status === 401 || entry.status === 403), JSON.stringify(audit));
  });
});
