// One experiment's page: charts of the comparison, and live progress from /ws/experiments/<id>/ (the page reloads
// when the experiment ends, to show the full comparison).
(function () {
  const script = document.currentScript;
  const experimentId = script.dataset.experiment;
  const comparison = JSON.parse(document.getElementById("comparison-data").textContent);
  const labels = JSON.parse(document.getElementById("experiment-labels").textContent);
  const palette = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037"];
  const withData = comparison.variants.filter((v) => v.mean_series);
  const yen = (y) => "¥" + Math.round(y).toLocaleString();

  // Per variant: the band's lower edge, its upper edge filled down to it, and the mean line over both.
  function netWorthDatasets(v, i) {
    const colour = palette[i % palette.length];
    const edge = { borderWidth: 0, pointRadius: 0, borderColor: colour };
    return [
      { ...edge, label: `${v.name} ${labels.low}`, data: v.net_worth_band.low, fill: false, band: true },
      { ...edge, label: `${v.name} ${labels.high}`, data: v.net_worth_band.high, fill: "-1", backgroundColor: colour + "33", band: true },
      { label: `${v.name} ${labels.mean}`, data: v.mean_series.net_worth, borderColor: colour, backgroundColor: colour, pointRadius: 0 },
    ];
  }

  if (window.Chart && withData.length) {
    const days = Array.from({ length: comparison.days }, (_, i) => labels.day.replace("{n}", i + 1));
    new Chart(document.getElementById("chart-net-worth"), {
      type: "line",
      data: { labels: days, datasets: withData.flatMap(netWorthDatasets) },
      options: {
        animation: false,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { labels: { filter: (item, data) => !data.datasets[item.datasetIndex].band } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${yen(c.parsed.y)}` } },
        },
        scales: { y: { ticks: { callback: yen } } },
      },
    });
    new Chart(document.getElementById("chart-final"), {
      type: "bar",
      data: {
        labels: withData.map((v) => v.name),
        datasets: [
          { label: labels.mean, data: withData.map((v) => v.mean_net_worth_yen), backgroundColor: palette },
          { label: labels.low, type: "line", showLine: false, data: withData.map((v) => v.ci95_low_yen), borderColor: "#1d2330" },
          { label: labels.high, type: "line", showLine: false, data: withData.map((v) => v.ci95_high_yen), borderColor: "#1d2330" },
        ],
      },
      options: { animation: false, maintainAspectRatio: false, scales: { y: { ticks: { callback: yen } } } },
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
  function connect() {
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
    // 1012 Service Restart: the server process is stopping (a deploy); another one answers within a second.
    socket.onclose = (event) => {
      if (event.code === 1012) setTimeout(connect, 100 + Math.random() * 900);
    };
  }
  connect();
})();
