// The Manager dashboard: draws a snapshot, then follows /ws/dashboard/ (events, and a snapshot every 30 s).
(function () {
  "use strict";

  const script = document.currentScript;
  const labels = JSON.parse(document.getElementById("dashboard-labels").textContent);
  const yen = (value) => "¥" + Number(value).toLocaleString("ja-JP");
  const time = (iso) => new Date(iso).toLocaleTimeString("ja-JP", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const charts = {};
  let snapshot = JSON.parse(document.getElementById("dashboard-snapshot").textContent);

  function setText(id, text) {
    const element = document.getElementById(id);
    if (element.textContent === text) return;
    const changed = element.textContent !== ""; // the first drawing is not a change worth highlighting
    element.textContent = text;
    if (changed) {
      element.classList.remove("flash");
      void element.offsetWidth; // restart the highlight animation
      element.classList.add("flash");
    }
  }

  function renderCards(cards) {
    setText("card-revenue", yen(cards.revenue_yen));
    setText("card-transactions", cards.transactions + labels.transactionsUnit);
    setText("card-basket", yen(cards.average_basket_yen));
    setText("card-margin", yen(cards.gross_margin_yen) + (cards.gross_margin_pct === null ? "" : ` (${cards.gross_margin_pct}%)`));
    setText("card-inventory", yen(cards.inventory_value_yen));
    setText("card-stock", `${labels.low} ${cards.low_stock_slots} / ${labels.out} ${cards.out_of_stock_slots}`);
    setText("card-conversations", String(cards.active_conversations));
    setText("card-ai-cost", yen(cards.ai.cost_yen));
    setText("card-ai-p95", cards.ai.reply_p95_ms === null ? "—" : `${cards.ai.reply_p95_ms} ms`);
    setText("card-error-rate", `${(cards.ai.error_rate * 100).toFixed(1)}%`);
    setText("card-approvals", String(cards.pending_approvals));
    const care = cards.care;
    setText("card-open-cases", care.overdue_cases ? `${care.open_cases} (${labels.overdue} ${care.overdue_cases})` : String(care.open_cases));
    setText("card-first-answer", care.first_answer_minutes === null ? "—" : `${care.first_answer_minutes} ${labels.minutes}`);
    setText("card-payment-mismatches", cards.payment_mismatches === null ? "-" : String(cards.payment_mismatches));
    setText("card-cash", yen(cards.cash_on_hand_yen));
    setText("card-cash-flow", (cards.net_cash_flow_30d_yen > 0 ? "+" : "") + yen(cards.net_cash_flow_30d_yen));
  }

  function saleItem(sale) {
    const item = document.createElement("li");
    item.dataset.saleId = sale.id;
    item.textContent = `${time(sale.created_at)}  #${sale.id}  ${sale.machine}  ${yen(sale.total_yen)}`;
    return item;
  }

  function renderSales(sales) {
    document.getElementById("recent-sales").replaceChildren(...sales.map(saleItem));
    document.getElementById("sales-empty").hidden = sales.length > 0;
  }

  function alertItem(alert) {
    const item = document.createElement("li");
    item.dataset.alertId = alert.id;
    item.className = `severity-${alert.severity} state-${alert.state}`;
    item.textContent = `[${alert.state_label}] ${alert.kind_label} ${alert.subject}: ${alert.message}`;
    return item;
  }

  function renderAlerts(alerts) {
    document.getElementById("alerts").replaceChildren(...alerts.map(alertItem));
    document.getElementById("alerts-empty").hidden = alerts.length > 0;
  }

  function chart(id, config) {
    if (typeof Chart === "undefined") return; // the page still works without the charts library
    if (charts[id]) {
      charts[id].data = config.data;
      charts[id].update("none");
    } else {
      charts[id] = new Chart(document.getElementById(id), { ...config, options: { maintainAspectRatio: false, animation: false, ...config.options } });
    }
  }

  function renderCharts(data) {
    const hours = [...Array(24).keys()].map((h) => `${h}時`);
    chart("chart-hourly", {
      type: "bar",
      data: { labels: hours, datasets: [
        { label: labels.today, data: data.hourly_sales.today, backgroundColor: "#3b7be0" },
        { label: labels.lastWeek, data: data.hourly_sales.last_week, backgroundColor: "#c7ccd6" },
      ] },
    });
    chart("chart-daily", {
      type: "line",
      data: { labels: data.daily_revenue.map((d) => d.date.slice(5)), datasets: [
        { label: labels.revenue, data: data.daily_revenue.map((d) => d.revenue_yen), borderColor: "#3b7be0" },
        { label: labels.margin, data: data.daily_revenue.map((d) => d.gross_margin_yen), borderColor: "#2e9e6a" },
      ] },
    });
    chart("chart-slots", {
      type: "bar",
      data: { labels: data.slot_stock.map((s) => `${s.slot} ${s.product}`), datasets: [
        { label: labels.quantity, data: data.slot_stock.map((s) => s.quantity),
          backgroundColor: data.slot_stock.map((s) => (s.quantity === 0 ? "#d64545" : s.quantity < s.par_level ? "#e0a030" : "#3b7be0")) },
        { label: labels.capacity, data: data.slot_stock.map((s) => s.capacity), backgroundColor: "#eceef2" },
      ] },
      options: { scales: { x: { stacked: false } } },
    });
    chart("chart-ai", {
      type: "bar",
      data: { labels: data.daily_ai.map((d) => d.date.slice(5)), datasets: [
        { label: labels.aiCost, data: data.daily_ai.map((d) => d.cost_yen), backgroundColor: "#8a5cd6", yAxisID: "y" },
        { label: labels.latency, data: data.daily_ai.map((d) => d.average_latency_ms), type: "line", borderColor: "#e0a030", yAxisID: "latency" },
      ] },
      options: { scales: { y: { position: "left" }, latency: { position: "right", grid: { drawOnChartArea: false } } } },
    });
  }

  function render(data) {
    snapshot = data;
    document.getElementById("generated-at").textContent = time(data.generated_at);
    renderCards(data.cards);
    renderSales(data.recent_sales);
    renderAlerts(data.alerts);
    renderSatisfaction(data.satisfaction);
    renderCharts(data);
  }

  function percent(share) { return share.good_pct === null ? "—" : `${share.good_pct}%`; }

  function renderSatisfaction(data) {
    document.getElementById("satisfaction-days").replaceChildren(...data.by_day.filter((d) => d.ratings).map((day) => {
      const item = document.createElement("li");
      item.textContent = `${day.label.slice(5)} ${percent(day)} (${day.ratings})`;
      return item;
    }));
    document.getElementById("satisfaction-personas").replaceChildren(...data.by_persona.map((row) => {
      const tr = document.createElement("tr");
      for (const value of [row.label, percent(row), String(row.ratings)]) tr.insertCell().textContent = value;
      return tr;
    }));
    document.getElementById("worst-answers").replaceChildren(...data.worst_answers.map((row) => {
      const item = document.createElement("li");
      item.dataset.ratingId = row.id;
      item.textContent = `${time(row.created_at)} ${row.persona}: 「${row.answer}」${row.comment ? ` — ${row.comment}` : ""}`;
      return item;
    }));
    document.getElementById("worst-empty").hidden = data.worst_answers.length > 0;
  }

  // An event shows at once; the snapshot asked for right after brings every card and chart up to date.
  function showSale(sale) {
    const list = document.getElementById("recent-sales");
    const existing = list.querySelector(`[data-sale-id="${sale.id}"]`);
    const item = saleItem(sale);
    item.classList.add("new");
    if (existing) {
      existing.replaceWith(item);
    } else {
      list.prepend(item);
      snapshot.cards.revenue_yen += sale.total_yen;
      snapshot.cards.transactions += 1;
      renderCards(snapshot.cards);
    }
    document.getElementById("sales-empty").hidden = true;
  }

  function showAlert(alert) {
    const list = document.getElementById("alerts");
    const item = alertItem(alert);
    item.classList.add("new");
    const existing = list.querySelector(`[data-alert-id="${alert.id}"]`);
    if (existing) existing.replaceWith(item); else list.prepend(item);
    document.getElementById("alerts-empty").hidden = true;
  }

  let socket = null;
  let refreshTimer = null;
  let retryDelay = 1000;

  function askForSnapshot() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => socket && socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify({ action: "refresh" })), 500);
  }

  function setStatus(state) {
    const status = document.getElementById("live-status");
    status.dataset.state = state;
    status.textContent = labels[state];
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/ws/dashboard/`);
    socket.onopen = () => { retryDelay = 1000; setStatus("live"); askForSnapshot(); };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "snapshot") render(event.snapshot);
      else if (event.type === "sale") { showSale(event.sale); askForSnapshot(); }
      else if (event.type === "alert") { showAlert(event.alert); askForSnapshot(); }
      else if (event.type === "order" || event.type === "rating") askForSnapshot();
    };
    socket.onclose = (event) => {
      // 4401: the login this page was opened with has ended; reloading leads to the login page (or a 403).
      if (event.code === 4401) { location.reload(); return; }
      setStatus("offline");
      // 1012 Service Restart: this server process is stopping (a deploy); another answers now, within a second.
      if (event.code === 1012) retryDelay = 100 + Math.random() * 900;
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, Number(script.dataset.refreshSeconds) * 1000);
    };
  }

  render(snapshot);
  connect();
})();
