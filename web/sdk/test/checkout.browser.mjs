// Drives the example checkout page in Chromium: card details typed into the PSP's fields,
// a decline, a payment, then a card that needs the bank's challenge (3-D Secure). Run by the payment service's browser test, which serves the page
// from an example merchant server at MERCHANT_URL.
//
// Prints the paid charge as JSON ({"chargeId": ...}) on success; exits non-zero on any failure.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const merchantUrl = process.env.MERCHANT_URL;
assert.ok(merchantUrl, "MERCHANT_URL must name the example merchant server");
const merchantOrigin = new URL(merchantUrl).origin;
const CARD_NUMBERS = ["4242424242424242", "4000000000000002", "4242424242424241", "4000002760003184"];

function assertNoCardNumbers(requests) {
  for (const request of requests) {
    const digitsOnly = request.replace(/\D/g, "");
    for (const number of CARD_NUMBERS) {
      assert.ok(!digitsOnly.includes(number), `a card number reached the merchant: ${request}`);
    }
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  // Chromium's sandbox needs a non-root user; CI runs as root.
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage();
  const sentToMerchant = [];
  page.on("request", (request) => {
    if (new URL(request.url()).origin === merchantOrigin) {
      sentToMerchant.push(`${request.method()} ${request.url()}\n${request.postData() ?? ""}`);
    }
  });
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  await page.goto(merchantUrl);
  const card = page.frameLocator("#card iframe");
  const pay = page.locator("#pay");
  const result = page.locator("#result");

  // A number that fails the checksum never makes the form payable.
  await card.locator("#number").fill("4242 4242 4242 4241");
  await card.locator("#expiry").fill("12 / 34");
  await card.locator("#cvc").fill("123");
  await page.waitForTimeout(200);
  assert.equal(await pay.isDisabled(), true, "an invalid card number must not be payable");

  // A declined card: the customer is told, and may try another card.
  await card.locator("#number").fill("4000 0000 0000 0002");
  await pay.click();
  await result.filter({ hasText: "Payment failed" }).waitFor({ timeout: 20000 });
  assert.match(await result.textContent(), /declined/i);

  // A good card.
  await card.locator("#number").fill("4242 4242 4242 4242");
  await pay.click();
  await result.filter({ hasText: "Payment succeeded" }).waitFor({ timeout: 20000 });
  const chargeId = /Charge (\S+)/.exec(await result.textContent())?.[1];
  assert.ok(chargeId, "the page shows the charge id");

  // The merchant's page cannot read the PSP's fields...
  const access = await page.evaluate(() => {
    const frame = document.querySelector("#card iframe");
    try {
      return frame.contentDocument === null ? "blocked" : "readable";
    } catch {
      return "blocked";
    }
  });
  assert.equal(access, "blocked");
  // ...and nothing it sent to its own server carried a card number.
  assertNoCardNumbers(sentToMerchant);
  assert.ok(sentToMerchant.some((r) => r.startsWith("POST") && r.includes("pm_")), "the token was sent");

  // A new purchase with a card that needs the bank's challenge: off to the bank's page, and
  // back to the shop, which waits for the charge to settle.
  await page.goto(merchantUrl);
  await card.locator("#number").fill("4000 0027 6000 3184");
  await card.locator("#expiry").fill("12 / 34");
  await card.locator("#cvc").fill("123");
  await pay.click();
  await page.getByRole("button", { name: "Complete authentication" }).click();
  await page.waitForURL((url) => url.origin === merchantOrigin);
  await result.filter({ hasText: "Payment succeeded" }).waitFor({ timeout: 20000 });
  const authenticatedChargeId = /Charge (\S+)/.exec(await result.textContent())?.[1];
  assert.ok(authenticatedChargeId && authenticatedChargeId !== chargeId);
  assertNoCardNumbers(sentToMerchant);
  assert.deepEqual(pageErrors, []);

  console.log(JSON.stringify({ chargeId, authenticatedChargeId }));
} finally {
  await browser.close();
}
