// The console's charts: each <div data-chart="..."> reads its data from a JSON <script>
// block the server rendered (the same numbers the page's table and JSON twin show) and
// draws it with the vendored uPlot. Without JavaScript the table is still there.
(function () {
  "use strict";
  // A chart's numbers: its own data-points attribute (no inline script needed), or a
  // JSON block its data-source selector names.
  function read(selector, box) {
    if (box && box.dataset.points) { return JSON.parse(box.dataset.points); }
    var node = selector ? document.querySelector(selector) : null;
    return node ? JSON.parse(node.textContent) : null;
  }
  function width(box) { return Math.max(280, box.clientWidth || 600); }
  function seconds(iso) { return Date.parse(iso) / 1000; }
  // Bars and volumes start at zero (a bar's height is its value), with room above.
  function zeroed(_, min, max) {
    var low = Math.min(0, min), high = Math.max(0, max);
    var pad = (high - low) * 0.1 || 1;
    return [low < 0 ? low - pad : 0, high + pad];
  }

  var draw = {
    "load-curve": function (box) {
      var blocks = read(box.dataset.source, box) || [];
      var data = [blocks.map(function (b) { return seconds(b.start); }),
                  blocks.map(function (b) { return b.import_kwh; }),
                  blocks.map(function (b) { return -b.export_kwh; })];
      return new uPlot({
        width: width(box), height: 320,
        // The meter's day is Indian Standard Time, whatever the browser's zone.
        tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Asia/Kolkata"); },
        series: [{label: box.dataset.labelTime || "Time"}, {label: box.dataset.labelImport, stroke: "#0b5394", fill: "rgba(11,83,148,0.15)"},
                 {label: box.dataset.labelExport, stroke: "#1e6b34", fill: "rgba(30,107,52,0.2)"}],
        axes: [{}, {label: "kWh"}]
      }, data, box);
    },
    "blocks": function (box) {
      var rows = read(box.dataset.source, box) || {};
      var labels = rows.labels || [];
      var xs = labels.map(function (_, i) { return i; });
      return new uPlot({
        width: width(box), height: 320, scales: {x: {time: false, range: function () { return [-0.5, xs.length - 0.5]; }}, kwh: {range: zeroed}, inr: {range: zeroed}},
        series: [{label: "block", value: function (_, i) { return i == null ? "--" : labels[i] || ""; }},
                 {label: "traded (kWh)", scale: "kwh", stroke: "#0b5394", fill: "rgba(11,83,148,0.25)",
                  paths: uPlot.paths.bars({size: [0.5, 60]})},
                 {label: "cleared price (INR/kWh)", scale: "inr", stroke: "#a3121f", width: 2}],
        axes: [{splits: function () { return xs; }, values: function (_, ticks) { return ticks.map(function (t) { return labels[t] || ""; }); }},
               {scale: "kwh", label: "kWh"}, {scale: "inr", side: 1, label: "INR/kWh", grid: {show: false}}]
      }, [xs, rows.kwh || [], rows.price || []], box);
    },
    // A block's demand and supply as steps over the cumulative quantity (kWh), and the
    // uniform clearing price across: where the steps cross is what the block cleared.
    "curves": function (box) {
      var c = read(box.dataset.source, box) || {};
      var xs = c.quantity || [];
      var stepped = uPlot.paths.stepped({align: 1});
      return new uPlot({
        width: width(box), height: 320, scales: {x: {time: false}, inr: {range: zeroed}},
        series: [{label: "kWh", value: function (_, v) { return v == null ? "--" : v.toFixed(3); }},
                 {label: "demand (bids, INR/kWh)", scale: "inr", stroke: "#0b5394", width: 2, paths: stepped, spanGaps: false},
                 {label: "supply (asks, INR/kWh)", scale: "inr", stroke: "#1e6b34", width: 2, paths: stepped, spanGaps: false},
                 {label: "clearing price (INR/kWh)", scale: "inr", stroke: "#a3121f", width: 2, dash: [6, 4], points: {show: false}}],
        axes: [{label: "cumulative kWh"}, {scale: "inr", label: "INR/kWh"}]
      }, [xs, c.demand || [], c.supply || [], c.price || []], box);
    },
    "bars": function (box) {
      var rows = read(box.dataset.source, box) || {};
      var xs = (rows.labels || []).map(function (_, i) { return i; });
      return new uPlot({
        width: width(box), height: 320, scales: {x: {time: false, range: function () { return [-0.5, xs.length - 0.5]; }}, y: {range: zeroed}},
        series: [{label: "", value: function (_, i) { return i == null ? "--" : (rows.labels || [])[i] || ""; }},
                 {label: box.dataset.label || "", stroke: "#7a4d00", fill: "rgba(122,77,0,0.25)",
                      paths: uPlot.paths.bars({size: [0.6, 60]})}],
        axes: [{splits: function () { return xs; }, values: function (_, ticks) { return ticks.map(function (t) { return (rows.labels || [])[t] || ""; }); }}, {size: 70}]
      }, [xs, rows.values || []], box);
    }
  };

  document.querySelectorAll("[data-chart]").forEach(function (box) {
    var make = draw[box.dataset.chart];
    if (!make || typeof uPlot === "undefined") { return; }
    var plot = make(box);
    window.addEventListener("resize", function () { plot.setSize({width: width(box), height: 320}); });
  });
})();
