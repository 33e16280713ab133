// An example merchant page. It reads its settings from the merchant's server (config.json),
// mounts the PSP's card fields, and sends only the resulting token to the merchant's server
// (`POST /pay`), which creates the charge with the payment service using its partner key.
// A card that needs the bank's challenge (3-D Secure) leaves for the bank's page and comes back
// here; the page then asks the merchant's server (`GET /charges/{id}`) how the charge ended.
import { Tessera } from "./tessera.js";

const form = document.getElementById("checkout");
const payButton = document.getElementById("pay");
const result = document.getElementById("result");

const PENDING_KEY = "tessera-example-pending-charge";
const FINAL = ["succeeded", "failed", "canceled"];

function show(text, failed) {
  result.textContent = text;
  result.className = failed ? "failed" : "";
}

function showOutcome(charge) {
  if (charge.status === "succeeded") {
    show("Payment succeeded. Charge " + charge.id);
  } else {
    show("Payment failed: " + (charge.failure_message || charge.detail || charge.status), true);
  }
}

// Back from the bank's challenge: the PSP tells the payment service by webhook, so wait for
// the charge to settle rather than trusting the URL we were sent back with.
async function resumePendingCharge() {
  const chargeId = sessionStorage.getItem(PENDING_KEY);
  if (!chargeId) return;
  sessionStorage.removeItem(PENDING_KEY);
  history.replaceState(null, "", window.location.pathname);
  show("Confirming your payment…");
  for (let attempt = 0; attempt < 40; attempt++) {
    const charge = await (await fetch("./charges/" + encodeURIComponent(chargeId))).json();
    if (FINAL.includes(charge.status)) {
      showOutcome(charge);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  show("Your payment is still being confirmed. Charge " + chargeId);
}

async function main() {
  await resumePendingCharge();
  const config = await (await fetch("./config.json")).json();
  const price = (config.amount / 100).toFixed(2) + " " + config.currency;
  document.getElementById("price").textContent = price;
  payButton.textContent = "Pay " + price;

  const tessera = new Tessera(config.publishableKey, { pspUrl: config.pspUrl });
  const card = tessera.mountCard("#card");
  card.onChange(({ complete }) => {
    payButton.disabled = !complete;
  });

  // One key per purchase: a retry after a network error cannot charge twice.
  let idempotencyKey = crypto.randomUUID();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    payButton.disabled = true;
    show("Paying…");
    try {
      const { token } = await card.tokenize();
      const response = await fetch("./pay", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey },
        body: JSON.stringify({
          payment_method: token,
          amount: config.amount,
          currency: config.currency,
          return_url: window.location.origin + window.location.pathname,
        }),
      });
      const charge = await response.json();
      if (charge.status === "succeeded") {
        showOutcome(charge);
        return;
      }
      if (charge.status === "requires_action" && charge.next_action_url) {
        sessionStorage.setItem(PENDING_KEY, charge.id);
        window.location.assign(charge.next_action_url);
        return;
      }
      // A declined card: the next attempt is a new purchase attempt with a new key.
      idempotencyKey = crypto.randomUUID();
      showOutcome(charge);
    } catch (error) {
      show(error.message, true);
    }
    payButton.disabled = !card.complete;
  });
}

main().catch((error) => show("The checkout could not start: " + error.message, true));
