// The tablet: product grid, streamed chat, purchases over the socket, receipt, reconnect, idle reset.
(function () {
  "use strict";
  const body = document.body;
  const machine = body.dataset.machine;
  const idleMs = Number(body.dataset.idleSeconds || 90) * 1000;
  const statusEl = document.getElementById("tablet-status");
  const grid = document.getElementById("product-grid");
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-input");
  const buyDialog = document.getElementById("buy-dialog");
  const receipt = document.getElementById("receipt");
  const yen = (n) => n.toLocaleString("ja-JP") + "円";

  let socket = null;
  let retryMs = 500;
  let conversation = null;
  let streaming = null; // the assistant bubble being written
  let products = [];
  let buying = null; // {slot, name, price, quantity, key}
  let idleTimer = null;

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
    socket = new WebSocket(`${scheme}://${location.host}/ws/tablet/${encodeURIComponent(machine)}/`);
    socket.onopen = () => { retryMs = 500; setStatus("live", "接続済み"); };
    socket.onclose = (event) => {
      if (event.code === 4403) { setStatus("offline", "ペアリングが必要です"); return; }
      setStatus("offline", "再接続中…");
      if (streaming) { finishBubble(streaming, "接続が切れました。もう一度お送りください。"); streaming = null; }
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
    socket.onmessage = (event) => handle(JSON.parse(event.data));
  }

  function send(message) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  function bubble(kind, text) {
    const li = document.createElement("li");
    li.className = kind;
    const span = document.createElement("span");
    span.className = "text";
    span.textContent = text;
    li.appendChild(span);
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
    return li;
  }

  function finishBubble(li, text) { li.querySelector(".text").textContent = text; li.dataset.done = "1"; }

  function handle(message) {
    switch (message.type) {
      case "products": products = message.products; renderProducts(); break;
      case "reply_start":
        conversation = message.conversation;
        streaming = bubble("assistant", "");
        break;
      case "delta":
        if (streaming) { streaming.querySelector(".text").textContent += message.text; log.scrollTop = log.scrollHeight; }
        break;
      case "reply": {
        const li = streaming || bubble("assistant", "");
        streaming = null;
        conversation = message.conversation;
        finishBubble(li, message.text);
        renderActions(li, message.actions || []);
        break;
      }
      case "receipt": showReceipt(message.receipt); break;
      case "error":
        if (message.request === "purchase" && buyDialog.open) {
          document.getElementById("buy-error").textContent = message.message;
        } else {
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
      }
    }
    if (box.childElementCount) li.appendChild(box);
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
    document.getElementById("buy-error").textContent = "";
    const sent = send({
      type: "purchase",
      items: [{ slot: buying.slot, quantity: buying.quantity }],
      coupon: document.getElementById("coupon").value.trim(),
      payment_method: method,
      idempotency_key: newKey(),
    });
    if (!sent) document.getElementById("buy-error").textContent = "接続が切れています。少し待ってからもう一度どうぞ。";
  }

  function showReceipt(data) {
    if (buyDialog.open) buyDialog.close();
    const table = document.getElementById("receipt-lines");
    table.replaceChildren();
    for (const line of data.lines) {
      const row = table.insertRow();
      row.insertCell().textContent = `${line.name} × ${line.quantity}`;
      row.insertCell().textContent = yen(line.total_yen);
    }
    if (data.discount_yen) {
      const row = table.insertRow();
      row.insertCell().textContent = `割引（${data.coupon}）`;
      row.insertCell().textContent = "-" + yen(data.discount_yen);
    }
    document.getElementById("receipt-total").textContent = `合計 ${yen(data.total_yen)}（税込）`;
    document.getElementById("receipt-message").textContent = data.message || "";
    receipt.dataset.saleId = data.sale_id;
    receipt.showModal();
  }

  // Nothing of the last person stays on screen: chat, dialogs, coupon, conversation.
  function resetForNextCustomer() {
    conversation = null;
    streaming = null;
    buying = null;
    log.replaceChildren();
    input.value = "";
    document.getElementById("coupon").value = "";
    if (buyDialog.open) buyDialog.close();
    if (receipt.open) receipt.close();
    body.dataset.resetAt = String(Date.now());
  }

  function touched() {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(resetForNextCustomer, idleMs);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    if (!send({ type: "chat", conversation, text })) { bubble("error", "接続が切れています。少し待ってからもう一度どうぞ。"); return; }
    bubble("customer", text);
    input.value = "";
  });
  grid.addEventListener("click", (event) => {
    const button = event.target.closest(".product");
    if (button && !button.disabled) openBuy({ slot: button.dataset.slot, name: button.dataset.name, price: Number(button.dataset.price) }, 1);
  });
  document.getElementById("qty-minus").onclick = () => { buying.quantity = Math.max(1, buying.quantity - 1); updateBuy(); };
  document.getElementById("qty-plus").onclick = () => { buying.quantity = Math.min(20, buying.quantity + 1); updateBuy(); };
  for (const button of document.querySelectorAll(".pay")) button.onclick = () => pay(button.dataset.method);
  document.getElementById("receipt-close").onclick = () => receipt.close();
  for (const name of ["pointerdown", "keydown", "input"]) document.addEventListener(name, touched, { passive: true });

  touched();
  connect();
})();
