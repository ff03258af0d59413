// Draws the Board oversight page's bar charts with Chart.js from the JSON block each canvas names
// in its data-chart attribute: {title, labels, series: [{label, values, role}], stacked, horizontal,
// unit}. Every chart is followed on the page by a table of the same figures, which is the record,
// so nothing is lost when this script or the library does not run.
(function () {
  "use strict";

  // GOV.UK Design System colours, distinct enough side by side and on white. A series whose role
  // is "alert" (deadlines passed) is drawn in red; its legend label says what it is, so colour is
  // never the only cue.
  var COLOURS = ["#1d70b8", "#505a5f", "#00703c", "#f47738", "#4c2c92", "#b58840", "#d53880", "#28a197"];
  var ALERT = "#d4351c";

  function colourFor(series, index) {
    return series.role === "alert" ? ALERT : COLOURS[index % COLOURS.length];
  }

  function barChart(data) {
    var valueAxis = data.horizontal ? "x" : "y";
    var labelAxis = data.horizontal ? "y" : "x";
    var scales = {};
    scales[labelAxis] = { stacked: !!data.stacked };
    scales[valueAxis] = {
      stacked: !!data.stacked,
      beginAtZero: true,
      ticks: { precision: 0 },
      title: { display: true, text: data.unit }
    };
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series, index) {
          return { label: series.label, data: series.values, backgroundColor: colourFor(series, index) };
        })
      },
      options: {
        animation: false,
        responsive: true,
        indexAxis: data.horizontal ? "y" : "x",
        // Horizontal charts grow taller with each bar, so long agency names stay readable.
        aspectRatio: data.horizontal ? Math.max(0.8, 2.4 - 0.1 * data.labels.length) : 2,
        scales: scales,
        plugins: { title: { display: false }, legend: { position: "bottom" } }
      }
    };
  }

  function draw() {
    if (typeof window.Chart === "undefined") {
      return;
    }
    var canvases = document.querySelectorAll("canvas[data-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) {
        return;
      }
      canvas.chart = new window.Chart(canvas, barChart(JSON.parse(source.textContent)));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
