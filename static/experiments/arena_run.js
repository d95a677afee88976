// An arena run's page: net worth, bank and coin box per day, with each event a marked point on the net worth line
// (clicking a point replays that day), and fresh food thrown away each morning as bars on an axis of its own.
(function () {
  const chart = JSON.parse(document.getElementById("arena-run-data").textContent);
  const labels = JSON.parse(document.getElementById("arena-labels").textContent);
  if (!window.Chart || !chart.net_worth.length) return;
  const yen = (y) => "¥" + Math.round(y).toLocaleString();
  const days = chart.net_worth.map((_, i) => labels.day.replace("{n}", i));
  const markers = chart.events.map((e) => ({ x: labels.day.replace("{n}", e.day), y: e.net_worth_yen, event: e }));
  new Chart(document.getElementById("chart-arena-run"), {
    type: "line",
    data: {
      labels: days,
      datasets: [
        { label: labels.events, type: "scatter", data: markers, pointRadius: 6, pointStyle: "triangle", borderColor: "#c62828", backgroundColor: "#c62828" },
        { label: labels.net_worth, data: chart.net_worth, borderColor: "#1565c0", pointRadius: 0 },
        { label: labels.cash, data: chart.cash, borderColor: "#2e7d32", pointRadius: 0, borderWidth: 1 },
        { label: labels.coin_box, data: chart.coin_box, borderColor: "#ef6c00", pointRadius: 0, borderWidth: 1 },
        { label: labels.waste, type: "bar", data: chart.waste, yAxisID: "waste", backgroundColor: "#8d6e63" },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      plugins: {
        tooltip: {
          callbacks: {
            label: (c) => (c.raw && c.raw.event ? `${c.raw.event.label}: ${JSON.stringify(c.raw.event)}` : `${c.dataset.label}: ${yen(c.parsed.y)}`),
          },
        },
      },
      onClick: (_, elements) => {
        const hit = elements.find((el) => el.datasetIndex === 0);
        if (hit) window.location.search = `?day=${chart.events[hit.index].day}#replay`;
      },
      scales: {
        y: { ticks: { callback: yen } },
        waste: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { callback: yen } },
      },
    },
  });
})();
