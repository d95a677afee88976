// The tablet: product grid, streamed chat, purchases over the socket, receipt, reconnect, idle reset.
// While the socket cannot open (Redis down, a proxy restarting) the page carries on over the HTTP chat, purchase and
// products APIs (answers shown whole) and keeps retrying the socket; the status dot says which one is in use.
(function () {
  "use strict";
  const body = document.body;
  const machine = body.dataset.machine;
  const idleMs = Number(body.dataset.idleSeconds || 90) * 1000;
  const receiptSeconds = Number(body.dataset.receiptSeconds || 15);
  const statusEl = document.getElementById("tablet-status");
  const grid = document.getElementById("product-grid");
  const log = document.getElementById("chat-log");
  const chatScroll = document.getElementById("chat-scroll"); // the greeting and the log scroll together
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const buyDialog = document.getElementById("buy-dialog");
  const receipt = document.getElementById("receipt");
  const yen = (n) => n.toLocaleString("ja-JP") + "円";
  const api = `/api/machines/${encodeURIComponent(machine)}`;
  const CUT_OFF = "接続が切れています。少し待ってからもう一度どうぞ。";
  const SERVICE_RESTART = 1012; // the close code of a server that is stopping (vendbot/server.py)
  const SOCKET_PROVEN_MS = 5000; // a socket closed sooner (accepted, then Redis failed) does not reset the backoff
  const ATTEMPT_STORE = `vendbot.purchase.${machine}`;

  let socket = null;
  let socketOpenedAt = 0;
  let retryMs = 500;
  let conversation = null;
  let customer = 0; // bumped by the idle reset: a late HTTP answer of the last customer is dropped
  let streaming = null; // the assistant bubble being written
  let unanswered = null; // a chat text sent over the socket before its reply started: resent over HTTP if it closes
  let chatQueue = Promise.resolve();
  let products = [];
  let buying = null; // {slot, name, price, quantity}
  // The purchase attempt without an answer yet: {key, body, product, quantity}. Its Idempotency-Key is made when the
  // customer taps a payment method and reused for every resend (socket, HTTP, after a reload: it is kept in
  // sessionStorage) until a receipt or a refusal arrives, so a lost answer never charges twice.
  let attempt = null;
  let attemptVia = null; // "socket" or "http" while a send of the attempt waits for its answer
  let attemptTimer = null;
  let attemptRetryMs = 1000;
  let idleTimer = null;
  let receiptTimer = null;
  let staffTimer = null; // while this customer's conversation has an open case: asks for staff answers
  const STAFF_POLL_MS = 10000;
  // A phone payment (PayPay or card) on screen: {key, body, title, id, expiresAt}. The QR code stays until the provider
  // confirms (the tablet polls the checkout), the customer cancels or it expires; then the grid comes back.
  let checkout = null;
  let checkoutPoll = null;
  let checkoutTick = null;
  const checkoutDialog = document.getElementById("checkout-dialog");
  const pickupDialog = document.getElementById("pickup-dialog");
  const memberDialog = document.getElementById("member-dialog");
  const CHECKOUT_POLL_MS = 2000;

  // A fresh key per purchase attempt: a retried send of the same attempt is charged once, a new attempt is new.
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function setStatus(state, text) {
    statusEl.dataset.state = state;
    statusEl.textContent = text;
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/tablet/${encodeURIComponent(machine)}/`);
    socket = ws;
    ws.onopen = () => { socketOpenedAt = Date.now(); setStatus("live", "接続済み"); };
    ws.onclose = (event) => {
      if (socket === ws) socket = null;
      if (event.code === 4403) { setStatus("offline", "ペアリングが必要です"); return; }
      if (socketOpenedAt && Date.now() - socketOpenedAt >= SOCKET_PROVEN_MS) retryMs = 500;
      // 1012 Service Restart: the server is stopping (a deploy); the next process answers at once. A random wait
      // under a second keeps every tablet from reconnecting in the same instant.
      if (event.code === SERVICE_RESTART) retryMs = 100 + Math.random() * 900;
      socketOpenedAt = 0;
      // No error for the customer: HTTP carries on until the socket opens again.
      setStatus("http", "接続済み");
      if (streaming) { finishBubble(streaming, "接続が切れました。もう一度お送りください。"); streaming = null; }
      // A socket accepted while Redis is down dies before it reads anything: what it was given goes over HTTP.
      if (unanswered !== null) { chatOverHttp(unanswered); unanswered = null; }
      if (attemptVia === "socket") { attemptVia = null; submitAttempt(); }
      refreshProducts();
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
    ws.onmessage = (event) => handle(JSON.parse(event.data));
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  // The HTTP fallback: the page's pairing cookie with its CSRF token. Resolves to {status, data}; rejects only when no
  // answer came (network error or timeout).
  async function request(method, path, payload, headers) {
    const response = await fetch(api + path, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": body.dataset.csrf, ...headers },
      body: payload === undefined ? undefined : JSON.stringify(payload),
      signal: AbortSignal.timeout(60000),
    });
    return { status: response.status, data: await response.json().catch(() => ({})) };
  }

  const errorText = (data) => (data.error && data.error.message) || CUT_OFF;
  // No answer about the purchase itself: the same attempt is sent again later.
  const noAnswer = (status) => status >= 500 || status === 408 || status === 429;

  function refreshProducts() {
    request("GET", "/products/").then(({ status, data }) => {
      if (status === 200) { products = data; renderProducts(); }
    }, () => {});
  }

  // One at a time, so a second message goes into the conversation the first one started.
  function chatOverHttp(text) {
    const asked = customer;
    const li = bubble("assistant", "");
    chatQueue = chatQueue.then(() => asked === customer && request("POST", "/chat/", { conversation, message: text }).then(
      ({ status, data }) => {
        if (asked !== customer) return;
        if (status !== 200) { li.remove(); bubble("error", errorText(data)); return; }
        conversation = data.conversation;
        finishBubble(li, data.reply);
        renderActions(li, data.actions || []);
      },
      () => { if (asked === customer) { li.remove(); bubble("error", CUT_OFF); } },
    ));
  }

  function bubble(kind, text) {
    const li = document.createElement("li");
    li.className = kind;
    const span = document.createElement("span");
    span.className = "text";
    span.textContent = text;
    li.appendChild(span);
    log.appendChild(li);
    showLatest();
    return li;
  }

  function showLatest() { chatScroll.scrollTop = chatScroll.scrollHeight; }

  function finishBubble(li, text) { li.querySelector(".text").textContent = text; li.dataset.done = "1"; }

  function handle(message) {
    switch (message.type) {
      case "products": products = message.products; renderProducts(); break;
      case "reply_start":
        unanswered = null;
        conversation = message.conversation;
        streaming = bubble("assistant", "");
        break;
      case "delta":
        if (streaming) { streaming.querySelector(".text").textContent += message.text; showLatest(); }
        break;
      case "reply": {
        const li = streaming || bubble("assistant", "");
        streaming = null;
        conversation = message.conversation;
        finishBubble(li, message.text);
        renderActions(li, message.actions || []);
        if (message.message) renderRating(li, { message: message.message });
        break;
      }
      case "rated": break;
      case "staff_answers":
        for (const answer of message.answers || []) bubble("staff", answer.text);
        break;
      case "receipt":
        if (attemptVia === "socket") attemptAnswered();
        showReceipt(message.receipt);
        break;
      case "error":
        if (message.request === "purchase") {
          if (attemptVia !== "socket") break;
          if (message.code === "server_error") { attemptVia = null; attemptRetryLater(); break; }
          attemptAnswered();
          document.getElementById("buy-error").textContent = message.message;
        } else {
          unanswered = null;
          if (streaming) { streaming.remove(); streaming = null; }
          bubble("error", message.message);
        }
        break;
    }
  }

  function renderProducts() {
    for (const button of grid.querySelectorAll(".product")) {
      const row = products.find((p) => p.slot === button.dataset.slot);
      if (!row) continue;
      button.disabled = !row.available;
      const badge = button.querySelector(".badge");
      badge.className = "badge " + (row.available ? "in-stock" : "sold-out");
      badge.textContent = row.available ? `残り${row.quantity}` : "売り切れ";
    }
  }

  function renderActions(li, actions) {
    const box = document.createElement("div");
    box.className = "actions";
    for (const action of actions) {
      if (action.type === "confirm_purchase") {
        const item = action.purchase.items[0];
        const button = document.createElement("button");
        button.type = "button";
        button.className = "confirm-purchase";
        button.textContent = `${item.name}を${item.quantity}個買う（${yen(action.purchase.subtotal_yen)}）`;
        button.onclick = () => openBuy({ slot: item.slot, name: item.name, price: item.unit_price_yen }, item.quantity);
        box.appendChild(button);
      } else if (action.type === "suggest_products") {
        for (const product of action.products.slice(0, 4)) {
          const row = products.find((p) => p.sku === product.sku && p.available);
          if (!row) continue;
          const button = document.createElement("button");
          button.type = "button";
          button.className = "suggested";
          button.textContent = `${row.name} ${yen(row.price_yen)}`;
          button.onclick = () => openBuy({ slot: row.slot, name: row.name, price: row.price_yen }, 1);
          box.appendChild(button);
        }
      } else if (action.type === "coupon") {
        const note = document.createElement("p");
        note.textContent = `クーポン: ${action.code}（${action.percent}%オフ）`;
        box.appendChild(note);
        document.getElementById("coupon").value = action.code;
      } else if (action.type === "case_opened" && !staffTimer) {
        // Staff answer from the admin; while this customer is here, the tablet asks for what they wrote.
        staffTimer = setInterval(() => send({ type: "staff_answers", conversation }), STAFF_POLL_MS);
      }
    }
    if (box.childElementCount) li.appendChild(box);
    showLatest(); // the finished answer and its buttons, however tall
  }

  // 👍 / 👎 under an answer (or on the receipt, for the purchase); after 👎 an optional comment.
  function rate(subject, score, comment) {
    touched();
    return send({ type: "rate", conversation, score, comment: comment || "", ...subject });
  }

  function renderRating(li, subject) {
    const box = document.createElement("div");
    box.className = "rate";
    for (const [score, label, name] of [[1, "👍", "よかった"], [-1, "👎", "いまいち"]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = score > 0 ? "rate-good" : "rate-bad";
      button.textContent = label;
      button.setAttribute("aria-label", name);
      button.onclick = () => {
        if (!rate(subject, score)) return;
        box.replaceChildren(score > 0 ? "ありがとうございます！" : commentForm(subject));
      };
      box.appendChild(button);
    }
    li.appendChild(box);
    showLatest();
  }

  function commentForm(subject) {
    const form = document.createElement("form");
    form.className = "rate-comment";
    const field = document.createElement("input");
    field.maxLength = 500;
    field.placeholder = "よろしければ理由を教えてください";
    const button = document.createElement("button");
    button.textContent = "送信";
    form.append(field, button);
    form.onsubmit = (event) => {
      event.preventDefault();
      if (field.value.trim() && rate(subject, -1, field.value.trim())) form.replaceChildren("ご意見ありがとうございます。");
    };
    return form;
  }

  function openBuy(product, quantity) {
    buying = { ...product, quantity: quantity || 1 };
    document.getElementById("buy-title").textContent = buying.name;
    document.getElementById("buy-error").textContent = "";
    updateBuy();
    if (!buyDialog.open) buyDialog.showModal();
  }

  function updateBuy() {
    document.getElementById("qty").textContent = buying.quantity;
    document.getElementById("buy-total").textContent = `合計 ${yen(buying.price * buying.quantity)}（税込）`;
  }

  function pay(method) {
    if (!attempt) {
      attempt = {
        key: newKey(),
        product: { slot: buying.slot, name: buying.name, price: buying.price },
        quantity: buying.quantity,
        body: {
          items: [{ slot: buying.slot, quantity: buying.quantity }],
          coupon: document.getElementById("coupon").value.trim(),
          payment_method: method,
          // Whose purchase it is (a member's key, the assistant's "own sale"): fixed with the attempt, so a resend
          // after a reload is the same request.
          conversation,
        },
      };
      attemptRetryMs = 1000;
      try { sessionStorage.setItem(ATTEMPT_STORE, JSON.stringify(attempt)); } catch (error) { /* private mode */ }
    }
    submitAttempt();
  }

  // Send the attempt once over whichever way is open; no answer (socket lost, network error, 5xx) sends it again later
  // with the same key, so the server charges it at most once.
  function submitAttempt() {
    clearTimeout(attemptTimer);
    if (!attempt || attemptVia) return;
    buyDialog.dataset.pending = "1";
    for (const control of buyDialog.querySelectorAll("button, input")) control.disabled = true;
    if (send({ type: "purchase", ...attempt.body, idempotency_key: attempt.key })) {
      attemptVia = "socket";
      return;
    }
    attemptVia = "http";
    // The same purchase as over the socket: within this conversation (its member, its record of what was bought).
    request("POST", "/tablet-purchases/", attempt.body, { "Idempotency-Key": attempt.key }).then(({ status, data }) => {
      attemptVia = null;
      if (noAnswer(status)) { attemptRetryLater(); return; }
      attemptAnswered();
      if (status === 201) { showReceipt(data); refreshProducts(); } else {
        document.getElementById("buy-error").textContent = errorText(data);
      }
    }, () => { attemptVia = null; attemptRetryLater(); });
  }

  function attemptRetryLater() {
    document.getElementById("buy-error").textContent = "通信を再試行しています…";
    attemptTimer = setTimeout(submitAttempt, attemptRetryMs);
    attemptRetryMs = Math.min(attemptRetryMs * 2, 8000);
  }

  function attemptAnswered() {
    attempt = null;
    attemptVia = null;
    clearTimeout(attemptTimer);
    try { sessionStorage.removeItem(ATTEMPT_STORE); } catch (error) { /* private mode */ }
    delete buyDialog.dataset.pending;
    for (const control of buyDialog.querySelectorAll("button, input")) control.disabled = false;
    document.getElementById("buy-error").textContent = "";
  }

  // A reload in the middle of a purchase resumes the same attempt (same key) instead of starting a new one.
  function resumeAttempt() {
    try { attempt = JSON.parse(sessionStorage.getItem(ATTEMPT_STORE) || "null"); } catch (error) { attempt = null; }
    if (!attempt) return;
    openBuy(attempt.product, attempt.quantity);
    document.getElementById("coupon").value = attempt.body.coupon;
    submitAttempt();
  }

  // 適格簡易請求書: the issuer, its registration number and the date above the items; the tax per rate below.
  function showInvoiceHeader(data) {
    const issuer = document.getElementById("receipt-issuer");
    const parts = data.issuer ? [data.issuer.name] : [];
    if (data.issuer && data.issuer.registration_number) {
      parts.push(issuer.dataset.registrationText.replace("{number}", data.issuer.registration_number));
    }
    if (data.issued_on) parts.push(data.issued_on.replaceAll("-", "/"));
    issuer.textContent = parts.join("\n");
  }

  function showTaxes(data) {
    const taxes = document.getElementById("receipt-taxes");
    const lines = (data.tax || []).map((tax) => taxes.dataset.rateText
      .replace("{rate}", tax.rate).replace("{total}", yen(tax.total_yen)).replace("{tax}", yen(tax.tax_yen)));
    if (data.lines.some((line) => line.tax_rate === 8)) lines.push(taxes.dataset.reducedNote);
    taxes.textContent = lines.join("\n");
  }

  function showReceipt(data) {
    if (buyDialog.open) buyDialog.close();
    const table = document.getElementById("receipt-lines");
    table.replaceChildren();
    showInvoiceHeader(data);
    for (const line of data.lines) {
      const row = table.insertRow();
      row.insertCell().textContent = `${line.name}${line.tax_rate === 8 ? " ※" : ""} × ${line.quantity}`;
      row.insertCell().textContent = yen(line.total_yen);
    }
    if (data.discount_yen) {
      const row = table.insertRow();
      row.insertCell().textContent = `割引（${data.coupon}）`;
      row.insertCell().textContent = "-" + yen(data.discount_yen);
    }
    document.getElementById("receipt-total").textContent = `合計 ${yen(data.total_yen)}（税込）`;
    showTaxes(data);
    document.getElementById("receipt-message").textContent = [data.message, data.payment_notice].filter(Boolean).join("\n");
    receipt.dataset.saleId = data.sale_id;
    for (const button of document.querySelectorAll("#receipt-rate button")) {
      button.disabled = !conversation;
      button.onclick = () => {
        if (rate({ sale: data.sale_id }, Number(button.dataset.score))) {
          for (const other of document.querySelectorAll("#receipt-rate button")) other.disabled = true;
        }
      };
    }
    receipt.showModal();
    receiptCountdown(receiptSeconds);
  }

  // The receipt counts down, then the screen resets itself for the next customer.
  function receiptCountdown(seconds) {
    clearTimeout(receiptTimer);
    const countdown = document.getElementById("receipt-countdown");
    countdown.textContent = countdown.dataset.text.replace("{n}", seconds);
    receiptTimer = setTimeout(() => (seconds > 1 ? receiptCountdown(seconds - 1) : resetForNextCustomer()), 1000);
  }

  // Nothing of the last person stays on screen: chat, dialogs, coupon, conversation.
  function resetForNextCustomer() {
    if (attempt || checkout) { touched(); return; } // a purchase still waiting for its answer keeps the screen
    customer += 1;
    conversation = null;
    clearInterval(staffTimer);
    staffTimer = null;
    unanswered = null;
    streaming = null;
    buying = null;
    log.replaceChildren();
    input.value = "";
    document.getElementById("coupon").value = "";
    if (buyDialog.open) buyDialog.close();
    if (receipt.open) receipt.close();
    if (pickupDialog.open) pickupDialog.close();
    if (memberDialog.open) memberDialog.close();
    body.classList.remove("member");
    chatScroll.scrollTop = 0;
    body.dataset.resetAt = String(Date.now());
  }

  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(resetForNextCustomer, idleMs);
  }

  // --- Phone payments: a QR code for the exact total, paid on the customer's phone (docs/payments.md) ---

  function startCheckout(button) {
    if (!checkout) {
      checkout = {
        key: newKey(),
        title: button.dataset.title,
        body: {
          items: [{ slot: buying.slot, quantity: buying.quantity }],
          coupon: document.getElementById("coupon").value.trim(),
          provider: button.dataset.provider,
        },
      };
    }
    for (const control of buyDialog.querySelectorAll("button, input")) control.disabled = true;
    request("POST", "/checkouts/", checkout.body, { "Idempotency-Key": checkout.key }).then(({ status, data }) => {
      if (noAnswer(status)) { checkoutRetryLater(button); return; }
      for (const control of buyDialog.querySelectorAll("button, input")) control.disabled = false;
      if (status !== 201) { checkout = null; document.getElementById("buy-error").textContent = errorText(data); return; }
      showCheckout(data);
    }, () => checkoutRetryLater(button));
  }

  // No answer: the same key again, so one reservation and one QR code whatever happened to the first request.
  function checkoutRetryLater(button) {
    document.getElementById("buy-error").textContent = checkoutDialog.dataset.retryText;
    setTimeout(() => { if (checkout && !checkout.id) startCheckout(button); }, 2000);
  }

  function showCheckout(data) {
    checkout.id = data.checkout_id;
    checkout.expiresAt = Date.parse(data.expires_at);
    if (buyDialog.open) buyDialog.close();
    document.getElementById("checkout-title").textContent = checkout.title;
    document.getElementById("checkout-total").textContent = checkoutDialog.dataset.totalText.replace("{yen}", yen(data.total_yen));
    document.getElementById("checkout-qr").innerHTML = data.qr_svg; // drawn by our server (segno), not user text
    document.getElementById("checkout-error").textContent = "";
    document.getElementById("checkout-cancel").disabled = false;
    checkoutDialog.dataset.state = data.state;
    checkoutDialog.showModal();
    checkoutCountdown();
    clearInterval(checkoutPoll);
    checkoutPoll = setInterval(() => checkoutAsk("GET", "/"), CHECKOUT_POLL_MS);
    checkoutSeen(data);
  }

  function checkoutCountdown() {
    clearTimeout(checkoutTick);
    if (!checkout) return;
    const left = Math.max(0, Math.ceil((checkout.expiresAt - Date.now()) / 1000));
    const countdown = document.getElementById("checkout-countdown");
    countdown.textContent = countdown.dataset.text.replace("{n}", left);
    // Past its time the server is asked (it expires the reservation after one last look at the provider).
    if (left === 0) { checkoutAsk("POST", "/refresh/"); checkoutTick = setTimeout(checkoutCountdown, 5000); return; }
    checkoutTick = setTimeout(checkoutCountdown, 1000);
  }

  function checkoutAsk(method, path) {
    if (!checkout || !checkout.id) return;
    const id = checkout.id;
    request(method, `/checkouts/${id}${path}`).then(({ status, data }) => {
      if (checkout && checkout.id === id && status === 200) checkoutSeen(data);
    }, () => {});
  }

  // What the server says the checkout became: still open (keep the QR), dispensed (the receipt), or over.
  function checkoutSeen(data) {
    checkoutDialog.dataset.state = data.state;
    if (data.state === "reserved" || data.state === "paid") return;
    const text = checkoutDialog.dataset[`${data.state}Text`] || "";
    checkoutClose();
    if (data.state === "dispensed" && data.receipt) { showReceipt(data.receipt); refreshProducts(); return; }
    refreshProducts();
    if (text) bubble("error", text);
  }

  function checkoutClose() {
    clearInterval(checkoutPoll);
    clearTimeout(checkoutTick);
    checkout = null;
    document.getElementById("checkout-qr").replaceChildren();
    if (checkoutDialog.open) checkoutDialog.close();
    if (buyDialog.open) buyDialog.close();
  }

  function cancelCheckout() {
    if (!checkout || !checkout.id) return;
    document.getElementById("checkout-cancel").disabled = true;
    const id = checkout.id;
    request("POST", `/checkouts/${id}/cancel/`).then(({ status, data }) => {
      if (!checkout || checkout.id !== id) return;
      document.getElementById("checkout-cancel").disabled = false;
      if (status === 200) checkoutSeen(data); else document.getElementById("checkout-error").textContent = errorText(data);
    }, () => {
      document.getElementById("checkout-cancel").disabled = false;
      document.getElementById("checkout-error").textContent = CUT_OFF;
    });
  }

  // --- A LINE customer's member code: this conversation knows them (their recommendations, their purchases) ---
  function openMember() {
    document.getElementById("member-code").value = "";
    document.getElementById("member-error").textContent = "";
    memberDialog.showModal();
  }

  function submitMember(event) {
    event.preventDefault();
    const code = document.getElementById("member-code").value.trim();
    if (!code) return;
    const submit = document.getElementById("member-submit");
    const asked = customer;
    submit.disabled = true;
    request("POST", "/member/", { code, conversation }).then(({ status, data }) => {
      submit.disabled = false;
      if (asked !== customer) return; // the screen was reset meanwhile: not this customer's any more
      if (status === 200 && data.conversation) {
        memberDialog.close();
        conversation = data.conversation;
        body.classList.add("member");
        bubble("assistant", data.text);
        return;
      }
      document.getElementById("member-error").textContent = errorText(data);
    }, () => { submit.disabled = false; document.getElementById("member-error").textContent = CUT_OFF; });
  }

  // --- A LINE order paid on the phone: the buyer types its pickup code here, and it is dispensed here ---

  function openPickup() {
    document.getElementById("pickup-code").value = "";
    document.getElementById("pickup-error").textContent = "";
    pickupDialog.showModal();
  }

  function submitPickup(event) {
    event.preventDefault();
    const code = document.getElementById("pickup-code").value.trim();
    if (!code) return;
    const submit = document.getElementById("pickup-submit");
    submit.disabled = true;
    request("POST", "/pickup/", { code }).then(({ status, data }) => {
      submit.disabled = false;
      if (status === 200 && data.receipt) { pickupDialog.close(); showReceipt(data.receipt); refreshProducts(); return; }
      document.getElementById("pickup-error").textContent = errorText(data);
    }, () => { submit.disabled = false; document.getElementById("pickup-error").textContent = CUT_OFF; });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const sent = send({ type: "chat", conversation, text });
    bubble("customer", text);
    input.value = "";
    if (sent) unanswered = text; else chatOverHttp(text);
  });
  grid.addEventListener("click", (event) => {
    const button = event.target.closest(".product");
    if (button && !button.disabled) openBuy({ slot: button.dataset.slot, name: button.dataset.name, price: Number(button.dataset.price) }, 1);
  });
  document.getElementById("qty-minus").onclick = () => { buying.quantity = Math.max(1, buying.quantity - 1); updateBuy(); };
  document.getElementById("qty-plus").onclick = () => { buying.quantity = Math.min(20, buying.quantity + 1); updateBuy(); };
  for (const button of document.querySelectorAll(".pay")) button.onclick = () => pay(button.dataset.method);
  for (const button of document.querySelectorAll(".pay-phone")) button.onclick = () => startCheckout(button);
  document.getElementById("checkout-cancel").onclick = cancelCheckout;
  checkoutDialog.addEventListener("cancel", (event) => event.preventDefault()); // Esc does not hide an open QR
  document.getElementById("member-open").onclick = openMember;
  document.getElementById("member-form").addEventListener("submit", submitMember);
  document.getElementById("member-close").onclick = () => memberDialog.close();
  const pickupOpen = document.getElementById("pickup-open");
  if (pickupOpen) pickupOpen.onclick = openPickup;
  document.getElementById("pickup-form").addEventListener("submit", submitPickup);
  document.getElementById("pickup-close").onclick = () => pickupDialog.close();
  document.getElementById("receipt-close").onclick = () => receipt.close();
  receipt.addEventListener("close", () => clearTimeout(receiptTimer)); // closed by hand (or Esc): no reset
  buyDialog.addEventListener("cancel", (event) => { if (attempt || checkout) event.preventDefault(); });
  for (const name of ["pointerdown", "keydown", "input"]) document.addEventListener(name, touched, { passive: true });

  touched();
  resumeAttempt();
  connect();
})();
