// Test clocks: while a clock advances, its page asks for the clock's status every second and shows
// how far it has come; once the advance has finished, the page reloads to show what it did.
// Without JavaScript the page offers a refresh link instead (<noscript>).
(function () {
  "use strict";

  var box = document.querySelector("[data-clock-status]");
  if (!box || box.getAttribute("data-status") !== "advancing") {
    return;
  }
  var url = box.getAttribute("data-status-url");
  var now = box.querySelector("[data-clock-now]");
  var bar = box.querySelector("[data-clock-bar]");
  var percent = box.querySelector("[data-clock-percent]");
  var delay = 1000;

  function show(status) {
    if (status.status !== "advancing") {
      window.location.reload();
      return false;
    }
    if (now && status.frozen_time_text) {
      now.textContent = status.frozen_time_text;
    }
    if (status.percent !== null && status.percent !== undefined) {
      if (bar) {
        bar.value = status.percent;
        bar.textContent = status.percent + "%";
      }
      if (percent) {
        percent.textContent = String(status.percent);
      }
    }
    return true;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("status " + response.status);
        }
        return response.json();
      })
      .then(function (status) {
        delay = 1000;
        if (show(status)) {
          window.setTimeout(poll, delay);
        }
      })
      .catch(function () {
        // The server is busy or restarting: look again, less often.
        delay = Math.min(delay * 2, 10000);
        window.setTimeout(poll, delay);
      });
  }

  window.setTimeout(poll, delay);
})();
