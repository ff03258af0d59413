// Draws the provider profile's charts with Chart.js from the JSON block each canvas names in its
// data-chart attribute. Every chart is followed on the page by a table of the same figures, so
// nothing is lost when this script or the library does not run.
(function () {
  "use strict";

  // GOV.UK Design System colours, distinct enough side by side and on white.
  var COLOURS = ["#1d70b8", "#d4351c", "#00703c", "#f47738", "#4c2c92", "#b58840", "#d53880", "#28a197", "#505a5f"];
  var RATINGS = { 1: "Inadequate", 2: "Requires improvement", 3: "Good", 4: "Outstanding" };

  function ratingsChart(data) {
    return {
      type: "line",
      data: {
        labels: data.labels,
        datasets: data.series.map(function (series, index) {
          return {
            label: series.label,
            data: series.values,
            borderColor: COLOURS[index % COLOURS.length],
            backgroundColor: COLOURS[index % COLOURS.length],
            borderWidth: series.label === "Overall" ? 4 : 2,
            pointRadius: 4,
            spanGaps: false,
            stepped: false
          };
        })
      },
      options: {
        animation: false,
        responsive: true,
        scales: {
          y: {
            min: 1,
            max: 4,
            ticks: { stepSize: 1, callback: function (value) { return RATINGS[value] || ""; } }
          }
        },
        plugins: {
          title: { display: true, text: data.title },
          tooltip: {
            callbacks: {
              label: function (context) {
                var series = data.series[context.datasetIndex];
                return series.label + ": " + series.text[context.dataIndex];
              }
            }
          }
        }
      }
    };
  }

  function monthlyChart(data) {
    var sources = data.series.filter(function (series) { return !series.total; });
    return {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: sources.map(function (series, index) {
          return { label: series.label, data: series.values, backgroundColor: COLOURS[index % COLOURS.length] };
        })
      },
      options: {
        animation: false,
        responsive: true,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { title: { display: true, text: data.title } }
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
      var data = JSON.parse(source.textContent);
      var config = data.kind === "ratings" ? ratingsChart(data) : monthlyChart(data);
      canvas.chart = new window.Chart(canvas, config);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
