// The API's page (/api/v1/docs): Scalar, served by Convoy itself, draws the OpenAPI document
// with no request leaving Convoy and nothing blocked by the page's Content-Security-Policy.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, openPage, screenshot, startConvoy, withFailureShots } from "./convoy.js";

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

test("the API page draws the document from Convoy alone, within its CSP", async () => {
  const pages = [];
  await withFailureShots("apidocs", pages, async () => {
    const { page, errors } = await openPage(browser);
    pages.push(page);
    const own = new URL(convoy.url).origin;
    const elsewhere = [];
    // Any request to another origin (a CDN, Scalar's fonts or proxy) fails the test.
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (new URL(url).origin === own) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    const blocked = [];
    page.on("console", (message) => {
      if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
    });

    const answer = await page.goto(`${convoy.url}/api/v1/docs`);
    assert.equal(answer.status(), 200);
    assert.match(answer.headers()["content-security-policy"], /script-src 'self';/);
    // Scalar lists the operations by their summaries and shows the security schemes.
    await page.waitForFunction(
      () => document.body.innerText.includes("Start a release"),
      null,
      { timeout: 60_000 },
    );
    // Its styles applied: the style element it adds has its rules (CSP would leave it empty).
    const rules = await page.evaluate(() => {
      const sheet = [...document.styleSheets].find((s) => s.ownerNode?.id === "scalar-style");
      return sheet ? sheet.cssRules.length : 0;
    });
    assert.ok(rules > 100, `Scalar's styles are applied (${rules} rules)`);
    await screenshot(page, "apidocs");

    assert.deepEqual(elsewhere, [], "no request left Convoy");
    assert.deepEqual(blocked, [], "nothing was blocked by the CSP");
    assert.deepEqual(errors, [], "no script error");
  });
});
