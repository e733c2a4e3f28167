// A release manager creates a release of the demo app from the dashboard, edits a version,
// deploys everything and watches it finish, without ever reloading the page.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  ARTIFACTS, documentWasKept, launchBrowser, markDocument, openPage, screenshot, startConvoy, signIn, withFailureShots,
} from "./convoy.js";

const COMPONENTS = ["CoreKit", "NetworkKit", "StorageKit", "FeatureKit"];
// Generous: the demo's pipelines take seconds each and this machine is shared.
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

test("a release created from the form is planned, edited, deployed and finishes live", async () => {
  const pages = [];
  await withFailureShots("release", pages, async () => {
    const { page, errors } = await openPage(browser);
    await signIn(page, convoy);
    pages.push(page);

    await page.goto(`${convoy.url}/releases/new`);
    await page.fill("#app_project", "mobile/app");
    await page.fill("#app_ref", "release/2.0.0");
    await screenshot(page, "01-new-release-form");
    await page.click("button[type=submit]");
    await page.waitForURL(/\/releases\/\d+$/);

    // The plan appears: the DAG's nodes and the table's rows, once analysis is done.
    await page.waitForSelector("#release-state .state-waiting", { timeout: 60_000 });
    await markDocument(page);
    for (const name of COMPONENTS) {
      await page.waitForSelector(`#dag g.dag-node[data-name="${name}"]`);
      await page.waitForSelector(`#components tr[data-name="${name}"]`);
    }
    // FeatureKit waits for the three others: its node is in the last column.
    const x = async (name) => (await page.locator(`#dag g.dag-node[data-name="${name}"]`).boundingBox()).x;
    assert.ok((await x("CoreKit")) < (await x("NetworkKit")));
    assert.ok((await x("NetworkKit")) < (await x("FeatureKit")));
    assert.equal(await page.locator("#dag path.dag-edge").count(), 4);
    await page.waitForSelector("#live-status[data-state=live]");
    await screenshot(page, "02-plan");

    // Edit a version while the release waits for deploy.
    const row = page.locator('#components tr[data-name="FeatureKit"]');
    await row.locator("input.version").fill("0.2.0");
    await row.locator("button[type=submit]").click();
    await page.waitForSelector('#timeline li:has-text("FeatureKit: version changed")');
    await page.waitForFunction(() => document.querySelector('#dag g.dag-node[data-name="FeatureKit"]')?.textContent.includes("0.2.0"));
    assert.equal(await row.locator("input.version").inputValue(), "0.2.0");
    await screenshot(page, "03-version-edited");

    // Deploy all and watch every component reach success without a reload.
    await page.click('#release-actions button[data-action="deploy"]');
    await page.waitForSelector("#release-state .state-deploying", { timeout: 30_000 });
    await page.waitForSelector('#components tr[data-state="merged"], #components tr[data-state="pending"], #components tr[data-state="deploying"]', { timeout: 60_000 });
    await screenshot(page, "04-deploying");
    await page.waitForSelector("#release-state .state-success", { timeout: RELEASE_TIMEOUT_MS });
    for (const name of COMPONENTS) {
      assert.equal(await page.locator(`#components tr[data-name="${name}"]`).getAttribute("data-state"), "success", name);
      assert.equal(await page.locator(`#dag g.dag-node[data-name="${name}"]`).getAttribute("data-state"), "success", name);
    }
    assert.match(await row.locator("td").nth(6).innerText(), /0\.2\.0/);
    assert.match(await page.locator("#release-progress").innerText(), /4 of 4 released/);
    assert.ok(await documentWasKept(page), "the page was reloaded");
    await screenshot(page, "05-success");

    // What Convoy told each owner: a status note on every merge request, linked (the notes are
    // delivered after the release moves, and the table is drawn with the page).
    const releaseUrl = page.url();
    const linkedNotes = '#notifications tr[data-notification-id] a[href*="#note_"]';
    let notes = 0;
    for (let look = 0; look < 150 && notes < COMPONENTS.length; look++) {
      if (look > 0) await page.waitForTimeout(200);
      await page.goto(releaseUrl);
      notes = await page.locator(linkedNotes).count();
    }
    assert.equal(notes, COMPONENTS.length);
    await screenshot(page, "06-notifications");

    // The list shows the finished release.
    await page.goto(convoy.url);
    await page.waitForSelector('tr[data-state="success"]');
    assert.match(await page.locator("#releases-content").innerText(), /4 of 4 released/);
    await screenshot(page, "07-releases-list");

    assert.deepEqual(errors, []);
  });
});

test("a plan of 200 components scrolls inside its box and never widens the page", async () => {
  const { page, errors } = await openPage(browser);
  await signIn(page, convoy);
  await page.goto(convoy.url);
  const layout = await page.evaluate(async () => {
    const { renderDag } = await import("/assets/dag.js");
    const states = ["waiting", "pending", "merged", "deploying", "success", "failed"];
    const components = Array.from({ length: 200 }, (_, i) => ({
      name: `Component${String(i).padStart(3, "0")}WithALongName`,
      state: states[i % states.length],
      version: "1.0.0",
      dependencies: i < 20 ? [] : [`Component${String(i - 20).padStart(3, "0")}WithALongName`],
      blocked_by: [],
    }));
    const box = document.createElement("div");
    box.className = "dag-wrap";
    box.id = "dag";
    document.querySelector("main").append(box);
    renderDag(box, components);
    return {
      nodes: box.querySelectorAll("g.dag-node").length,
      pageWidth: document.documentElement.scrollWidth,
      viewportWidth: window.innerWidth,
      boxHeight: box.clientHeight,
      viewportHeight: window.innerHeight,
      drawingWidth: box.scrollWidth,
      drawingHeight: box.scrollHeight,
    };
  });
  assert.equal(layout.nodes, 200);
  assert.ok(layout.pageWidth <= layout.viewportWidth, `the page is ${layout.pageWidth}px wide`);
  assert.ok(layout.boxHeight <= layout.viewportHeight * 0.6 + 1, `the plan box is ${layout.boxHeight}px high`);
  assert.ok(layout.drawingWidth > layout.boxHeight || layout.drawingHeight > layout.boxHeight, "the drawing scrolls");
  await page.locator("#dag").screenshot({ path: `${ARTIFACTS}/07-two-hundred-components.png` });
  assert.deepEqual(errors, []);
});
