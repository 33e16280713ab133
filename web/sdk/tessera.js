// Tessera.js: collects card details in the PSP's own fields and hands the merchant's page back
// only a payment method token. The fields are an iframe served from the PSP's origin, so the
// merchant's page, its scripts and its servers never see a card number (PCI DSS SAQ A scope).
//
//   import { Tessera } from "./tessera.js";
//   const tessera = new Tessera("pk_test_sandbox", { pspUrl: "https://psp.example" });
//   const card = tessera.mountCard(document.querySelector("#card"));
//   card.onChange(({ complete }) => (payButton.disabled = !complete));
//   const { token, card: summary } = await card.tokenize(); // { token: "pm_...", card: { brand, last4, ... } }
//   // send `token` to your server, which creates the charge with it.

const TOKENIZE_TIMEOUT_MS = 20000;

export class TesseraError extends Error {
  constructor(message) {
    super(message);
    this.name = "TesseraError";
  }
}

export class Tessera {
  /**
   * @param {string} publishableKey the key meant for web pages (`pk_...`), never the secret key
   * @param {{ pspUrl: string }} options where the PSP (or the PSP sandbox) serves its card fields
   */
  constructor(publishableKey, options) {
    if (typeof publishableKey !== "string" || !publishableKey.startsWith("pk_")) {
      throw new TesseraError("Tessera needs a publishable key (pk_...); never put a secret key in a web page.");
    }
    if (!options || typeof options.pspUrl !== "string") {
      throw new TesseraError("Tessera needs options.pspUrl, the PSP's base URL.");
    }
    this.publishableKey = publishableKey;
    this.pspOrigin = new URL(options.pspUrl).origin;
  }

  /**
   * Puts the card fields inside `container` (an element or a CSS selector).
   * @returns {CardField}
   */
  mountCard(container) {
    const target = typeof container === "string" ? document.querySelector(container) : container;
    if (!target) {
      throw new TesseraError("mountCard: no element to mount the card fields in.");
    }
    return new CardField(this, target);
  }
}

export class CardField {
  constructor(tessera, container) {
    this.pspOrigin = tessera.pspOrigin;
    this.pending = new Map();
    this.changeListeners = [];
    this.complete = false;

    const src = new URL("/elements/card", this.pspOrigin);
    src.searchParams.set("key", tessera.publishableKey);
    src.searchParams.set("origin", window.location.origin);
    this.iframe = document.createElement("iframe");
    this.iframe.src = src.toString();
    this.iframe.title = "Secure card payment input";
    this.iframe.setAttribute("allow", "payment");
    this.iframe.style.border = "0";
    this.iframe.style.width = "100%";
    this.iframe.style.height = "9rem";
    container.appendChild(this.iframe);

    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    this.onMessage = (event) => this.receive(event);
    window.addEventListener("message", this.onMessage);
  }

  /** Calls `listener({ complete, brand })` whenever the customer edits the fields. */
  onChange(listener) {
    this.changeListeners.push(listener);
  }

  /**
   * Sends the card details from the PSP's frame to the PSP and resolves with the token.
   * Rejects with a TesseraError whose message can be shown to the customer.
   * @returns {Promise<{ token: string, card: { brand: string, last4: string, exp_month: number, exp_year: number } }>}
   */
  async tokenize() {
    await this.ready;
    const requestId = randomId();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new TesseraError("The card could not be checked in time. Try again."));
      }, TOKENIZE_TIMEOUT_MS);
      this.pending.set(requestId, { resolve, reject, timer });
      this.iframe.contentWindow.postMessage({ type: "tessera:tokenize", requestId }, this.pspOrigin);
    });
  }

  /** Removes the fields and stops listening. */
  destroy() {
    window.removeEventListener("message", this.onMessage);
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new TesseraError("The card fields were removed."));
    }
    this.pending.clear();
    this.iframe.remove();
  }

  receive(event) {
    // Only our own frame, from the PSP's origin, speaks to us.
    if (event.origin !== this.pspOrigin || event.source !== this.iframe.contentWindow) return;
    const data = event.data || {};
    switch (data.type) {
      case "tessera:ready":
        this.markReady();
        break;
      case "tessera:change":
        this.complete = Boolean(data.complete);
        for (const listener of this.changeListeners) listener({ complete: this.complete, brand: data.brand });
        break;
      case "tessera:token":
      case "tessera:error": {
        const waiting = this.pending.get(data.requestId);
        if (!waiting) return;
        this.pending.delete(data.requestId);
        clearTimeout(waiting.timer);
        if (data.type === "tessera:token") {
          waiting.resolve({ token: data.token, card: data.card });
        } else {
          waiting.reject(new TesseraError(data.message));
        }
        break;
      }
      default:
        break;
    }
  }
}

function randomId() {
  if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
  return String(Date.now()) + Math.random().toString(16).slice(2);
}
