"use strict";
(function () {
  var nav = document.getElementById("filters");
  var controls = Array.prototype.slice.call(document.querySelectorAll("section.control"));
  var buttons = Array.prototype.slice.call(nav.querySelectorAll("button[data-filter]"));
  var counter = document.getElementById("visible-count");
  var active = {};

  function apply() {
    var any = Object.keys(active).length > 0;
    var shown = 0;
    controls.forEach(function (el) {
      var visible = !any || active[el.getAttribute("data-status")] === true;
      el.hidden = !visible;
      if (visible) { shown += 1; }
    });
    buttons.forEach(function (b) {
      var f = b.getAttribute("data-filter");
      b.setAttribute("aria-pressed", String(f === "all" ? !any : active[f] === true));
    });
    counter.textContent = "showing " + shown + " of " + controls.length + " controls";
    counter.setAttribute("data-visible", String(shown));
  }

  // A link such as report.html#filter=fail,inconclusive opens the report filtered.
  function fromHash() {
    var m = /^#filter=([a-z_,]+)$/.exec(window.location.hash);
    active = {};
    if (m) {
      m[1].split(",").forEach(function (f) {
        if (nav.querySelector('button[data-filter="' + f + '"]')) { active[f] = true; }
      });
    }
  }

  function toHash() {
    var keys = Object.keys(active).sort();
    var hash = keys.length ? "#filter=" + keys.join(",") : window.location.pathname + window.location.search;
    try { window.history.replaceState(null, "", hash); } catch (e) { /* file:// may refuse; filters still work */ }
  }

  buttons.forEach(function (b) {
    b.addEventListener("click", function () {
      var f = b.getAttribute("data-filter");
      if (f === "all") { active = {}; }
      else if (active[f]) { delete active[f]; }
      else { active[f] = true; }
      apply();
      toHash();
    });
  });
  window.addEventListener("hashchange", function () { fromHash(); apply(); });

  // Printing shows every evidence block of the controls on screen; restore afterwards.
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.prototype.slice.call(document.querySelectorAll("details:not([open])"));
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
    closed = [];
  });

  nav.hidden = false;
  fromHash();
  apply();
  document.body.setAttribute("data-js", "ready");
})();
