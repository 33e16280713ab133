// The card fields' own script, running in the PSP's frame. Card details stay in this frame and
// go only to the PSP; the merchant's page gets the token.
(function () {
  "use strict";
  var parentOrigin = document.body.dataset.parentOrigin;
  var key = document.body.dataset.key;
  var number = document.getElementById("number");
  var expiry = document.getElementById("expiry");
  var cvc = document.getElementById("cvc");
  var errorBox = document.getElementById("error");

  function send(message) {
    window.parent.postMessage(message, parentOrigin);
  }

  function digits(value) {
    return value.replace(/\D/g, "");
  }

  function luhn(value) {
    var sum = 0;
    for (var i = 0; i < value.length; i++) {
      var d = value.charCodeAt(value.length - 1 - i) - 48;
      if (i % 2 === 1) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
    }
    return value.length >= 12 && value.length <= 19 && sum % 10 === 0;
  }

  function brand(value) {
    if (/^4/.test(value)) return "visa";
    if (/^(5[1-5]|2[2-7])/.test(value)) return "mastercard";
    if (/^3[47]/.test(value)) return "amex";
    return "unknown";
  }

  // MM / YY or MM / YYYY; null when unreadable.
  function readExpiry(value) {
    var m = /^\s*(\d{1,2})\s*\/?\s*(\d{2}|\d{4})\s*$/.exec(value);
    if (!m) return null;
    var month = parseInt(m[1], 10);
    var year = parseInt(m[2], 10);
    if (year < 100) year += 2000;
    if (month < 1 || month > 12) return null;
    return { month: month, year: year };
  }

  // The first problem with what was typed, or "" when the card can be sent.
  function problem() {
    var n = digits(number.value);
    if (!luhn(n)) return "Your card number is incomplete or incorrect.";
    var exp = readExpiry(expiry.value);
    if (!exp) return "Enter the expiry date as MM / YY.";
    var now = new Date();
    if (exp.year < now.getFullYear() || (exp.year === now.getFullYear() && exp.month < now.getMonth() + 1)) {
      return "Your card has expired.";
    }
    if (!/^\d{3,4}$/.test(cvc.value.trim())) return "Your card's security code is incomplete.";
    return "";
  }

  function changed() {
    errorBox.textContent = "";
    send({ type: "tessera:change", complete: problem() === "", brand: brand(digits(number.value)) });
  }
  [number, expiry, cvc].forEach(function (input) {
    input.addEventListener("input", changed);
  });

  function tokenize(requestId) {
    var why = problem();
    if (why) {
      errorBox.textContent = why;
      send({ type: "tessera:error", requestId: requestId, message: why });
      return;
    }
    var exp = readExpiry(expiry.value);
    var body = new URLSearchParams();
    body.set("type", "card");
    body.set("card[number]", digits(number.value));
    body.set("card[exp_month]", String(exp.month));
    body.set("card[exp_year]", String(exp.year));
    body.set("card[cvc]", cvc.value.trim());
    fetch("/v1/payment_methods", {
      method: "POST",
      headers: { Authorization: "Bearer " + key },
      body: body,
    })
      .then(function (response) {
        return response.json().then(function (json) {
          return { ok: response.ok, json: json };
        });
      })
      .then(function (result) {
        if (!result.ok) {
          var message = (result.json.error && result.json.error.message) || "Your card was refused.";
          errorBox.textContent = message;
          send({ type: "tessera:error", requestId: requestId, message: message });
          return;
        }
        send({
          type: "tessera:token",
          requestId: requestId,
          token: result.json.id,
          card: result.json.card,
        });
      })
      .catch(function () {
        var message = "The card could not be sent. Check your connection and try again.";
        errorBox.textContent = message;
        send({ type: "tessera:error", requestId: requestId, message: message });
      });
  }

  window.addEventListener("message", function (event) {
    // Only the page these fields were loaded for may ask for a token.
    if (event.origin !== parentOrigin || event.source !== window.parent) return;
    var data = event.data || {};
    if (data.type === "tessera:tokenize" && typeof data.requestId === "string") {
      tokenize(data.requestId);
    }
  });

  send({ type: "tessera:ready" });
})();
