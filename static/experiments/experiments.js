// One experiment's page: charts of the comparison, and live progress from /ws/experiments/<id>/ (the page reloads
// when the experiment ends, to show the full comparison).
(function () {
  const script = document.currentScript;
  const experimentId = script.dataset.experiment;
  const comparison = JSON.parse(document.getElementById("comparison-data").textContent);
  const palette = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037"];
  const withData = comparison.variants.filter((v) => v.mean_series);

  if (window.Chart && withData.length) {
    const days = Array.from({ length: comparison.days }, (_, i) => i + 1);
    new Chart(document.getElementById("chart-net-worth"), {
      type: "line",
      data: {
        labels: days,
        datasets: withData.map((v, i) => ({
          label: v.name, data: v.mean_series.net_worth, borderColor: palette[i % palette.length], pointRadius: 0,
        })),
      },
      options: { animation: false, scales: { y: { ticks: { callback: (y) => "¥" + y.toLocaleString() } } } },
    });
    new Chart(document.getElementById("chart-final"), {
      type: "bar",
      data: {
        labels: withData.map((v) => v.name),
        datasets: [
          { label: "mean", data: withData.map((v) => v.mean_net_worth_yen), backgroundColor: palette },
          { label: "95% CI low", type: "line", showLine: false, data: withData.map((v) => v.ci95_low_yen), borderColor: "#000" },
          { label: "95% CI high", type: "line", showLine: false, data: withData.map((v) => v.ci95_high_yen), borderColor: "#000" },
        ],
      },
      options: { animation: false },
    });
  }

  const progress = document.getElementById("progress");
  const percent = document.getElementById("progress-percent");
  const daysDone = new Map();
  function show(p) {
    p.runs.forEach((r) => daysDone.set(r.id, r.days_done));
    progress.max = p.days_total;
    update();
  }
  function update() {
    const done = Array.from(daysDone.values()).reduce((a, b) => a + b, 0);
    progress.value = done;
    percent.textContent = progress.max ? ((100 * done) / progress.max).toFixed(1) : "0";
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/experiments/${experimentId}/`);
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.type === "progress") show(event.progress);
    if (event.type === "run") {
      daysDone.set(event.run, event.days_done || 0);
      update();
    }
    if (event.type === "experiment") location.reload();
  };
})();
