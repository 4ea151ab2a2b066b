// stampbook dashboard: small enhancements only; every page works without this file.
// 1. Collects script errors (window.__stampbookErrors) so browser tests can assert there are none.
// 2. Adds the local time to every <time> tooltip (pages print UTC).
// 3. On a wallboard, ticks a live clock beside "updated at", so a frozen screen is obvious.
(function () {
  "use strict";
  var errors = [];
  window.__stampbookErrors = errors;
  window.addEventListener("error", function (e) {
    errors.push(String(e.message || e.type) + " @ " + (e.filename || "") + ":" + (e.lineno || 0));
  });
  window.addEventListener("unhandledrejection", function (e) {
    errors.push("unhandled rejection: " + String(e.reason));
  });
  window.addEventListener("securitypolicyviolation", function (e) {
    errors.push("CSP violation: " + e.violatedDirective + " " + (e.blockedURI || ""));
  });

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function local(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
  }

  function localiseTimes() {
    var times = document.querySelectorAll("time[datetime][title]");
    for (var i = 0; i < times.length; i++) {
      var t = times[i];
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d.getTime()) && t.title.indexOf("local") < 0) {
        t.title = t.title + " · " + local(d) + " local";
      }
    }
  }

  function startClock() {
    if (!document.body.classList.contains("wallboard")) { return; }
    var updated = document.getElementById("updated");
    if (!updated) { return; }
    var clock = document.createElement("span");
    clock.className = "clock";
    clock.setAttribute("aria-hidden", "true");
    updated.parentNode.parentNode.insertBefore(clock, updated.parentNode);
    function tick() {
      var d = new Date();
      clock.textContent = "now " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + " UTC";
    }
    tick();
    window.setInterval(tick, 1000);
  }

  function ready() {
    localiseTimes();
    startClock();
    document.documentElement.setAttribute("data-js", "ready");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
