// The wallboard: times in state counted up each second and coloured as they grow, and the
// day's chart (uPlot) kept across the live part's swaps (htmx-ext-sse swaps #live).
"use strict";

(() => {
  let skew = 0; // server seconds minus browser seconds, from the last snapshot
  let plot = null;

  function readSkew() {
    const live = document.querySelector(".wb-live");
    if (live) {
      skew = Number(live.dataset.at) - Date.now() / 1000;
    }
  }

  function clock(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  }

  function tick() {
    const now = Date.now() / 1000 + skew;
    for (const el of document.querySelectorAll(".age[data-since]")) {
      const age = now - Number(el.dataset.since);
      el.textContent = clock(age);
      const warn = el.dataset.warn ? age >= Number(el.dataset.warn) : false;
      const bad = el.dataset.bad ? age >= Number(el.dataset.bad) : false;
      el.classList.toggle("bad", bad);
      el.classList.toggle("warn", warn && !bad);
    }
  }

  function chartData() {
    const holder = document.getElementById("wb-chart-data");
    const points = holder ? JSON.parse(holder.dataset.chart || "[]") : [];
    const pct = (v) => (v === null ? null : Math.round(v * 1000) / 10);
    return [
      points.map((p) => p.at),
      points.map((p) => pct(p.occupancy)),
      points.map((p) => pct(p.abandon_rate)),
    ];
  }

  function drawChart() {
    const target = document.getElementById("wb-chart");
    if (!target || typeof uPlot === "undefined") {
      return;
    }
    const data = chartData();
    document.getElementById("wb-chart-empty").hidden = data[0].length > 0;
    if (plot) {
      plot.setData(data);
      return;
    }
    plot = new uPlot(
      {
        width: Math.max(320, target.clientWidth),
        height: 220,
        scales: { occ: { range: [0, 100] }, ab: { range: (u, lo, hi) => [0, Math.max(5, hi)] } },
        series: [
          {},
          { label: "Occupancy %", scale: "occ", stroke: "#1f5fbf", width: 2 },
          { label: "Abandon rate %", scale: "ab", stroke: "#b3261e", width: 2 },
        ],
        axes: [
          {},
          { scale: "occ", label: "occupancy %" },
          { scale: "ab", side: 1, label: "abandon %", grid: { show: false } },
        ],
      },
      data,
      target,
    );
    window.addEventListener("resize", () => {
      plot.setSize({ width: Math.max(320, target.clientWidth), height: 220 });
    });
  }

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id === "live") {
      readSkew();
      tick();
      drawChart();
    }
  });
  document.addEventListener("DOMContentLoaded", () => {
    readSkew();
    tick();
    drawChart();
    setInterval(tick, 1000);
  });
})();
