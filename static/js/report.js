// The agreement report's charts, drawn with Chart.js from the JSON the page embeds.
/* global Chart */

const report = JSON.parse(document.getElementById("report-data").textContent);
const css = getComputedStyle(document.documentElement);
const color = (name, fallback) => css.getPropertyValue(name).trim() || fallback;
const OK = color("--ok", "#1d7f4e");
const WARN = color("--warn", "#b7791f");
const BAD = color("--danger", "#c4302b");
const ACCENT = color("--accent", "#2457d6");
const GOOD = 0.8;
const FAIR = 0.667;

const tone = (v) => (v >= GOOD ? OK : v >= FAIR ? WARN : BAD);
const fmt = (v) => (v === null || v === undefined ? "–" : v.toFixed(2));

Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.plugins.legend.labels.boxWidth = 12;

function draw(id, config) {
  const canvas = document.getElementById(id);
  if (!canvas) return null;
  // data-drawn once the bars and lines have grown to their values (tests, screenshots).
  config.options = config.options || {};
  config.options.animation = {
    ...config.options.animation,
    onComplete: () => {
      canvas.dataset.drawn = "1";
    },
  };
  const chart = new Chart(canvas, config);
  canvas.dataset.points = String(
    config.data.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null).length, 0),
  );
  return chart;
}

// Reference lines for Krippendorff's bars, drawn behind the data.
const thresholdLines = {
  id: "thresholdLines",
  beforeDatasetsDraw(chart) {
    const y = chart.scales.y;
    if (!y || y.max > 1.01) return;
    const { ctx, chartArea } = chart;
    ctx.save();
    ctx.setLineDash([4, 4]);
    ctx.lineWidth = 1;
    for (const [v, c] of [[GOOD, OK], [FAIR, WARN]]) {
      if (v < y.min) continue;
      ctx.strokeStyle = c;
      ctx.beginPath();
      ctx.moveTo(chartArea.left, y.getPixelForValue(v));
      ctx.lineTo(chartArea.right, y.getPixelForValue(v));
      ctx.stroke();
    }
    ctx.restore();
  },
};

const sweep = report.threshold_sweep;
const current = report.params.match_iou;
draw("chart-sweep", {
  type: "line",
  data: {
    labels: sweep.map((p) => p.iou.toFixed(2)),
    datasets: [
      {
        label: "K-α",
        data: sweep.map((p) => p.kalpha),
        borderColor: ACCENT,
        backgroundColor: ACCENT,
        tension: 0.25,
        pointRadius: sweep.map((p) => (Math.abs(p.iou - current) < 1e-6 ? 6 : 3)),
        pointBackgroundColor: sweep.map((p) => (Math.abs(p.iou - current) < 1e-6 ? BAD : ACCENT)),
      },
    ],
  },
  options: {
    plugins: {
      legend: { display: false },
      tooltip: {
        callbacks: {
          title: (items) => `IoU threshold ${items[0].label}`,
          label: (item) =>
            `K-α ${fmt(item.raw)}${Math.abs(sweep[item.dataIndex].iou - current) < 1e-6 ? " (project setting)" : ""}`,
        },
      },
    },
    scales: {
      x: { title: { display: true, text: "IoU needed to count as the same object" } },
      y: { suggestedMin: 0, max: 1, title: { display: true, text: "K-α" } },
    },
  },
  plugins: [thresholdLines],
});

const hist = report.score_histogram;
draw("chart-histogram", {
  type: "bar",
  data: {
    labels: hist.map((b) => `${b.from.toFixed(1)}–${b.to.toFixed(1)}`),
    datasets: [
      {
        label: "Images",
        data: hist.map((b) => b.count),
        backgroundColor: hist.map((b) => tone(b.from + 0.05)),
        borderRadius: 3,
      },
    ],
  },
  options: {
    plugins: { legend: { display: false } },
    scales: {
      x: { title: { display: true, text: "Image score (1 = identical label sets)" } },
      y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "Images" } },
    },
  },
});

const kinds = report.flags.by_kind;
const flagsUrl = document.querySelector("a[href$='/flags/']")?.getAttribute("href") || "flags/";
draw("chart-flags", {
  type: "bar",
  data: {
    labels: kinds.map((k) => k.label),
    datasets: [
      { label: "Open", data: kinds.map((k) => k.open), backgroundColor: WARN, status: "open" },
      { label: "Resolved", data: kinds.map((k) => k.resolved), backgroundColor: OK, status: "resolved" },
      { label: "Dismissed", data: kinds.map((k) => k.dismissed), backgroundColor: "#9aa4b2", status: "dismissed" },
    ],
  },
  options: {
    indexAxis: "y",
    scales: {
      x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
      y: { stacked: true },
    },
    onClick(_event, elements, chart) {
      if (!elements.length) return;
      const { datasetIndex, index } = elements[0];
      const status = chart.data.datasets[datasetIndex].status;
      window.location.href = `${flagsUrl}?kind=${kinds[index].kind}&status=${status}`;
    },
    onHover(event, elements) {
      event.native.target.style.cursor = elements.length ? "pointer" : "default";
    },
  },
});

const versions = report.by_instruction_version;
draw("chart-versions", {
  type: "bar",
  data: {
    labels: versions.map((v) => `v${v.number}`),
    datasets: [
      {
        label: "Mean image score",
        data: versions.map((v) => v.mean_score),
        backgroundColor: versions.map((v) => tone(v.mean_score ?? 0)),
        borderRadius: 3,
        maxBarThickness: 60,
      },
    ],
  },
  options: {
    plugins: {
      legend: { display: false },
      tooltip: {
        callbacks: {
          label: (item) => `score ${fmt(item.raw)} over ${versions[item.dataIndex].images} images`,
        },
      },
    },
    scales: {
      x: { title: { display: true, text: "Instruction version" } },
      y: { min: 0, max: 1, title: { display: true, text: "Mean image score" } },
    },
  },
  plugins: [thresholdLines],
});
