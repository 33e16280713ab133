// An example merchant page. It reads its settings from the merchant's server (config.json),
// mounts the PSP's card fields, and sends only the resulting token to the merchant's server
// (`POST /pay`), which creates the charge with the payment service using its partner key.
import { Tessera } from "./tessera.js";

const form = document.getElementById("checkout");
const payButton = document.getElementById("pay");
const result = document.getElementById("result");

function show(text, failed) {
  result.textContent = text;
  result.className = failed ? "failed" : "";
}

async function main() {
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
        body: JSON.stringify({ payment_method: token, amount: config.amount, currency: config.currency }),
      });
      const charge = await response.json();
      if (charge.status === "succeeded") {
        show("Payment succeeded. Charge " + charge.id);
        return;
      }
      if (charge.status === "requires_action" && charge.next_action_url) {
        window.location.assign(charge.next_action_url);
        return;
      }
      // A declined card: the next attempt is a new purchase attempt with a new key.
      idempotencyKey = crypto.randomUUID();
      show("Payment failed: " + (charge.failure_message || charge.detail || charge.status), true);
    } catch (error) {
      show(error.message, true);
    }
    payButton.disabled = !card.complete;
  });
}

main().catch((error) => show("The checkout could not start: " + error.message, true));
