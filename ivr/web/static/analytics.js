/* Draws the analytics pages' charts with the vendored ECharts (no inline script: CSP
   script-src 'self'). Each <div class="chart" data-kind="..." data-chart="{json}"> carries its
   figures; the same figures are in the page's tables. */
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }

  function axisSeries(kind, d) {
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 48 },
      xAxis: { type: "category", data: d.x, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", minInterval: 1 },
      series: d.series.map(function (s) {
        return { type: kind === "bar" ? "bar" : "line", name: s.name, data: s.data, stack: s.stack,
                 step: s.step ? "end" : false, showSymbol: false };
      })
    };
  }

  // horizontal bars for long category names (topics): the first category on top
  function hbar(d) {
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: 16, right: 24, top: 32, bottom: 16, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", data: d.x, inverse: true },
      series: d.series.map(function (s) { return { type: "bar", name: s.name, data: s.data }; })
    };
  }

  function band(d) {
    var width = d.hi.map(function (h, i) { return Math.max(0, h - d.lo[i]); });
    return {
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: ["Perkiraan", "Interval"] },
      grid: { left: 48, right: 16, top: 32, bottom: 32 },
      xAxis: { type: "category", data: d.x },
      yAxis: { type: "value" },
      series: [
        { name: "Batas bawah", type: "line", data: d.lo, stack: "band", lineStyle: { opacity: 0 }, showSymbol: false },
        { name: "Interval", type: "line", data: width, stack: "band", lineStyle: { opacity: 0 },
          areaStyle: { opacity: 0.25 }, showSymbol: false },
        { name: "Perkiraan", type: "line", data: d.mean, showSymbol: true }
      ]
    };
  }

  function heat(d) {
    var max = 1;
    var data = d.data.map(function (c) {
      if (c[2] !== null && c[2] > max) { max = c[2]; }
      // a hidden count (1-4) is drawn like the smallest and labelled "<5"; its number is not sent
      return { value: [c[0], c[1], c[2] === null ? 0 : c[2]], label: c[3] };
    });
    return {
      tooltip: { formatter: function (p) { return d.y[p.value[1]] + " · " + d.x[p.value[0]] + ": " + p.data.label; } },
      grid: { left: 140, right: 16, top: 16, bottom: 96 },
      xAxis: { type: "category", data: d.x, axisLabel: { rotate: 40 } },
      yAxis: { type: "category", data: d.y },
      visualMap: { min: 0, max: max, calculable: false, orient: "horizontal", left: "center", bottom: 0,
                   show: false },
      series: [{ type: "heatmap", data: data,
                 label: { show: true, formatter: function (p) { return p.data.label; } } }]
    };
  }

  var charts = [];
  document.querySelectorAll("div.chart[data-chart]").forEach(function (el) {
    var d = JSON.parse(el.getAttribute("data-chart"));
    var kind = el.getAttribute("data-kind");
    var option = kind === "band" ? band(d) : kind === "heat" ? heat(d) : kind === "hbar" ? hbar(d)
      : axisSeries(kind, d);
    if (kind === "heat") { el.classList.add("tall"); }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option);
    el.setAttribute("data-drawn", "1");
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
