// An import's page while a large file is checked or imported: poll its progress, show it, and
// reload the page once it has finished. Without JavaScript the page offers a refresh link instead.
(function () {
  "use strict";
  var box = document.querySelector("[data-import-progress]");
  if (!box) {
    return;
  }
  var url = box.getAttribute("data-import-progress");
  var text = box.querySelector("[data-progress-text]");
  var bar = box.querySelector("progress");
  var announcedTenth = -1;
  var POLL_MS = 2000;

  function show(state) {
    bar.max = Math.max(state.rows_total, 1);
    bar.value = state.rows_done;
    bar.textContent = state.percent + "%";
    // The status region is read aloud when it changes: every tenth of the way, not every poll.
    var tenth = Math.floor(state.percent / 10);
    if (tenth !== announcedTenth) {
      announcedTenth = tenth;
      text.textContent = state.message;
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (state) {
        if (state && state.finished) {
          window.location.reload();
          return;
        }
        if (state) {
          show(state);
        }
        window.setTimeout(poll, POLL_MS);
      })
      .catch(function () {
        window.setTimeout(poll, POLL_MS);
      });
  }

  window.setTimeout(poll, POLL_MS);
})();
