// An A/B test's page: the conversion rate per variant, each bar labelled with its p-value against the control.
(function () {
  const results = JSON.parse(document.getElementById("ab-results").textContent);
  const labels = JSON.parse(document.getElementById("ab-labels").textContent);
  const palette = ["#1565c0", "#c62828", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037"];
  const seen = results.variants.filter((v) => v.conversations);
  if (!window.Chart || !seen.length) return;

  function caption(v) {
    if (!v.versus_control) return [v.persona, labels.control];
    const p = v.versus_control.conversion_p_value;
    return [v.persona, `p = ${p === null ? "—" : p}`];
  }

  new Chart(document.getElementById("chart-conversion"), {
    type: "bar",
    data: {
      labels: seen.map(caption),
      datasets: [
        {
          label: labels.rate,
          data: seen.map((v) => Math.round(v.conversion_rate * 1000) / 10),
          backgroundColor: seen.map((_, i) => palette[i % palette.length]),
        },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { y: { beginAtZero: true, suggestedMax: 100, ticks: { callback: (y) => `${y}%` } } },
    },
  });
})();
