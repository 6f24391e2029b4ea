"use strict";
// aslcheck report: status filters, paged findings, search and a by-resource view over the findings
// embedded in the page (a JSON data block). Every value is written with textContent, never as HTML.
(function () {
  var payload = JSON.parse(document.getElementById("aslcheck-data").textContent);
  var S = payload.strings, STATUS = payload.statuses, PAGE = payload.page, RES_PAGE = 50;
  var GLYPH = {fail: "\u2717", error: "?", pass: "\u2713", not_applicable: "\u2013"};
  var nav = document.getElementById("filters");
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.control"));
  var buttons = Array.prototype.slice.call(nav.querySelectorAll("button[data-filter]"));
  var statusGroup = nav.querySelector('[aria-label="Filter controls by status"]');
  var viewButtons = Array.prototype.slice.call(nav.querySelectorAll("button[data-view]"));
  var search = document.getElementById("search");
  var counter = document.getElementById("visible-count");
  var searchCount = document.getElementById("search-count");
  var controlsView = document.getElementById("controls");
  var resourcesView = document.getElementById("resources");
  var resourceList = document.getElementById("resource-list");
  var checks = {}, controls = {}, usedBy = {};
  var state = {filter: {}, q: "", view: "controls"};

  payload.checks.forEach(function (c) { checks[c.key] = c; });
  payload.controls.forEach(function (c) {
    controls[c.id] = c;
    c.checks.forEach(function (k) { (usedBy[k] = usedBy[k] || []).push(c.id); });
  });

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function str(i) { return i >= 0 ? S[i] : null; }

  var haystacks = {};
  function haystack(key, i) {
    var hk = key + ":" + i;
    if (haystacks[hk] === undefined) {
      var r = checks[key].rows[i];
      haystacks[hk] = [checks[key].id, str(r[0]) || "", str(r[1]) || "", str(r[3]) || "", str(r[6]) || ""]
        .join("\n").toLowerCase();
    }
    return haystacks[hk];
  }

  function badge(status) {
    var b = el("span", "check-status");
    b.setAttribute("data-badge", status);
    var g = el("span", "glyph", GLYPH[status] || "");
    g.setAttribute("aria-hidden", "true");
    b.appendChild(g);
    b.appendChild(document.createTextNode(status));
    return b;
  }

  function evidenceText(r) {
    var text = str(r[4]);
    if (!text) { return ""; }
    if (r[5]) { return text + " \u2026 (cut; the full evidence is in results.json)"; }
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
  }

  function waivedIn(controlId, r) {
    var c = controls[controlId];
    if (!c || STATUS[r[2]] === "pass" || STATUS[r[2]] === "not_applicable") { return false; }
    return c.waived_all || (r[0] >= 0 && c.waived.indexOf(S[r[0]]) >= 0);
  }

  function findingRow(r, controlId) {
    var tr = el("tr");
    var status = STATUS[r[2]];
    tr.setAttribute("data-finding", status);
    var res = el("td", "res");
    res.appendChild(el("code", null, str(r[0]) || "(check-level)"));
    [str(r[1]), str(r[6])].forEach(function (t) {
      if (t) { res.appendChild(el("br")); res.appendChild(el("span", "muted small", t)); }
    });
    var st = el("td");
    st.appendChild(badge(status));
    if (controlId && waivedIn(controlId, r)) {
      st.appendChild(el("br"));
      var w = el("span", "muted small", "waived");
      w.setAttribute("data-finding-waived", "1");
      st.appendChild(w);
    }
    var ev = el("td");
    var evText = evidenceText(r);
    if (evText) { ev.appendChild(el("pre", null, evText)); }
    tr.appendChild(res);
    tr.appendChild(st);
    tr.appendChild(el("td", null, str(r[3])));
    tr.appendChild(ev);
    return tr;
  }

  function pager(onMove) {
    var box = el("div", "pager");
    var prev = el("button", null, "\u25c0 previous");
    var next = el("button", null, "next \u25b6");
    var label = el("span", "muted small");
    prev.type = next.type = "button";
    prev.addEventListener("click", function () { onMove(-1); });
    next.addEventListener("click", function () { onMove(1); });
    box.appendChild(prev);
    box.appendChild(label);
    box.appendChild(next);
    return {box: box, prev: prev, next: next, label: label};
  }

  // -- per-check findings blocks -------------------------------------------------------------------
  var blocks = [];
  sections.forEach(function (section) {
    var controlId = section.id.replace(/^control-/, "");
    Array.prototype.slice.call(section.querySelectorAll("div.check[data-key]")).forEach(function (div) {
      var key = div.getAttribute("data-key");
      var check = checks[key];
      var table = div.querySelector("table.findings");
      var block = {div: div, key: key, check: check, control: controlId, section: section, page: 0,
                   rows: check.rows.map(function (_, i) { return i; }), table: table, dirty: false};
      if (table && check.rows.length > PAGE) {
        block.pager = pager(function (d) { block.page += d; renderBlock(block); });
        table.parentNode.insertBefore(block.pager.box, table.nextSibling);
      }
      block.more = div.querySelector("p.more");
      blocks.push(block);
    });
  });

  function renderBlock(block) {
    if (!block.table) { return; }
    var pages = Math.max(1, Math.ceil(block.rows.length / PAGE));
    block.page = Math.min(Math.max(0, block.page), pages - 1);
    var tbody = block.table.tBodies[0];
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    var start = block.page * PAGE, stop = Math.min(start + PAGE, block.rows.length);
    for (var i = start; i < stop; i++) {
      tbody.appendChild(findingRow(block.check.rows[block.rows[i]], block.control));
    }
    block.table.hidden = block.rows.length === 0;
    if (block.pager) {
      block.pager.prev.disabled = block.page === 0;
      block.pager.next.disabled = block.page >= pages - 1;
      block.pager.label.textContent = "page " + (block.page + 1) + " of " + pages;
      block.pager.box.hidden = block.rows.length <= PAGE;
    }
    if (block.more) {
      block.more.textContent = (block.rows.length ? "Rows " + (start + 1) + "\u2013" + stop : "No row") + " of " +
        block.rows.length.toLocaleString("en-US") + (state.q ? " matching" : "") + " findings held in this page (" +
        block.check.total.toLocaleString("en-US") + " in the run; all are in results.json and findings.csv).";
    }
  }

  // -- by-resource view -----------------------------------------------------------------------------
  var resources = null, resourcePage = 0, resourceShown = [];
  var resourcePager = pager(function (d) { resourcePage += d; renderResources(); });
  resourceList.parentNode.insertBefore(resourcePager.box, resourceList);

  function buildResources() {
    var byRes = {};
    payload.checks.forEach(function (c) {
      c.rows.forEach(function (r, i) {
        if (r[0] < 0) { return; }
        var entry = byRes[r[0]] || (byRes[r[0]] = {res: r[0], kind: r[1], worst: 9, items: []});
        entry.items.push([c.key, i]);
        if (r[2] < entry.worst) { entry.worst = r[2]; }
      });
    });
    resources = Object.keys(byRes).map(function (k) { return byRes[k]; });
    resources.sort(function (a, b) { return a.worst - b.worst || (S[a.res] < S[b.res] ? -1 : 1); });
  }

  function resourceMatches(entry, q) {
    if (!q) { return true; }
    if ((S[entry.res] + "\n" + (str(entry.kind) || "")).toLowerCase().indexOf(q) >= 0) { return true; }
    return entry.items.some(function (it) {
      return haystack(it[0], it[1]).indexOf(q) >= 0 ||
        (usedBy[it[0]] || []).join(" ").toLowerCase().indexOf(q) >= 0;
    });
  }

  function renderResources() {
    if (resources === null) { buildResources(); }
    var q = state.q.toLowerCase();
    resourceShown = resources.filter(function (e) { return resourceMatches(e, q); });
    var pages = Math.max(1, Math.ceil(resourceShown.length / RES_PAGE));
    resourcePage = Math.min(Math.max(0, resourcePage), pages - 1);
    while (resourceList.firstChild) { resourceList.removeChild(resourceList.firstChild); }
    var start = resourcePage * RES_PAGE;
    resourceShown.slice(start, start + RES_PAGE).forEach(function (entry) {
      var art = el("article", "resource");
      art.setAttribute("data-resource-status", STATUS[entry.worst]);
      var h = el("h3");
      h.appendChild(badge(STATUS[entry.worst]));
      h.appendChild(document.createTextNode(" "));
      h.appendChild(el("code", "res-id", S[entry.res]));
      if (entry.kind >= 0) { h.appendChild(el("span", "muted small", " " + S[entry.kind])); }
      art.appendChild(h);
      var table = el("table", "findings");
      var head = el("tr");
      ["Controls", "Check", "Status", "Reason", "Evidence"].forEach(function (t) { head.appendChild(el("th", null, t)); });
      table.appendChild(el("thead")).appendChild(head);
      var body = el("tbody");
      entry.items.forEach(function (it) {
        var r = checks[it[0]].rows[it[1]];
        var tr = el("tr");
        tr.setAttribute("data-finding", STATUS[r[2]]);
        tr.appendChild(el("td", null, (usedBy[it[0]] || []).join(", ")));
        tr.appendChild(el("td")).appendChild(el("code", null, checks[it[0]].id));
        tr.appendChild(el("td")).appendChild(badge(STATUS[r[2]]));
        tr.appendChild(el("td", null, str(r[3])));
        var ev = evidenceText(r);
        tr.appendChild(el("td")).appendChild(ev ? el("pre", null, ev) : document.createTextNode(""));
        body.appendChild(tr);
      });
      table.appendChild(body);
      art.appendChild(table);
      resourceList.appendChild(art);
    });
    resourceList.setAttribute("data-resources", String(resourceShown.length));
    resourcePager.prev.disabled = resourcePage === 0;
    resourcePager.next.disabled = resourcePage >= pages - 1;
    resourcePager.label.textContent = resourceShown.length.toLocaleString("en-US") + " resource(s)" +
      (q ? " matching" : "") + "; page " + (resourcePage + 1) + " of " + pages;
  }

  // -- filters, search, view -----------------------------------------------------------------------
  function applyControls() {
    var anyFilter = Object.keys(state.filter).length > 0;
    var q = state.q.toLowerCase();
    var hits = {}, nHits = 0, shown = 0, matchedControls = 0;
    var sectionHit = {};
    blocks.forEach(function (b) {
      var all = b.check.rows.map(function (_, i) { return i; });
      var rows = !q || b.check.id.toLowerCase().indexOf(q) >= 0 ? all :
        all.filter(function (i) { return haystack(b.key, i).indexOf(q) >= 0; });
      if (q) {
        rows.forEach(function (i) { var hk = b.key + ":" + i; if (!hits[hk]) { hits[hk] = true; nHits += 1; } });
        if (rows.length) { sectionHit[b.section.id] = true; }
      }
      var changed = rows.length !== b.rows.length || b.dirty;
      b.rows = rows;
      b.page = 0;
      if (changed) { renderBlock(b); b.dirty = q !== ""; }
      b.div.hidden = q !== "" && rows.length === 0 && b.check.id.toLowerCase().indexOf(q) < 0;
    });
    sections.forEach(function (sec) {
      var header = sec.querySelector("header").textContent + "\n" + sec.querySelector("p.reason").textContent;
      var textHit = !q || header.toLowerCase().indexOf(q) >= 0;
      var hit = textHit || sectionHit[sec.id] === true;
      if (q && hit) { matchedControls += 1; }
      if (q && sectionHit[sec.id]) { sec.querySelector("details.evidence").open = true; }
      if (q && textHit) {
        Array.prototype.slice.call(sec.querySelectorAll("div.check")).forEach(function (d) { d.hidden = false; });
      }
      var visible = (!anyFilter || state.filter[sec.getAttribute("data-status")] === true) && hit;
      sec.hidden = !visible;
      if (visible) { shown += 1; }
    });
    buttons.forEach(function (b) {
      var f = b.getAttribute("data-filter");
      b.setAttribute("aria-pressed", String(f === "all" ? !anyFilter : state.filter[f] === true));
    });
    counter.textContent = "showing " + shown + " of " + sections.length + " controls";
    counter.setAttribute("data-visible", String(shown));
    searchCount.textContent = q ? nHits.toLocaleString("en-US") + " finding(s) in " + matchedControls +
      " control(s) match \u201c" + state.q + "\u201d (among the findings this page holds)" : "";
    searchCount.setAttribute("data-hits", String(q ? nHits : 0));
    searchCount.setAttribute("data-controls", String(q ? matchedControls : 0));
  }

  function apply() {
    statusGroup.hidden = state.view !== "controls";  // status filters act on controls, not on resources
    controlsView.hidden = state.view !== "controls";
    resourcesView.hidden = state.view !== "resources";
    viewButtons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.getAttribute("data-view") === state.view)); });
    applyControls();
    if (state.view === "resources") { renderResources(); }
    document.body.setAttribute("data-view", state.view);
  }

  // State in the URL: #filter=fail,inconclusive&q=weights&view=resources opens the report that way.
  function fromHash() {
    state = {filter: {}, q: "", view: "controls"};
    window.location.hash.replace(/^#/, "").split("&").forEach(function (part) {
      var kv = part.split("=");
      var k = kv[0], v = decodeURIComponent((kv[1] || "").replace(/\+/g, " "));
      if (k === "filter") {
        v.split(",").forEach(function (f) {
          if (nav.querySelector('button[data-filter="' + f.replace(/[^a-z_]/g, "") + '"]')) { state.filter[f] = true; }
        });
      } else if (k === "q") {
        state.q = v;
      } else if (k === "view" && (v === "controls" || v === "resources")) {
        state.view = v;
      }
    });
    search.value = state.q;
  }

  function toHash() {
    var parts = [];
    var keys = Object.keys(state.filter).sort();
    if (keys.length) { parts.push("filter=" + keys.join(",")); }
    if (state.q) { parts.push("q=" + encodeURIComponent(state.q)); }
    if (state.view !== "controls") { parts.push("view=" + state.view); }
    var hash = parts.length ? "#" + parts.join("&") : window.location.pathname + window.location.search;
    try { window.history.replaceState(null, "", hash); } catch (e) { /* file:// may refuse; the page still works */ }
  }

  buttons.forEach(function (b) {
    b.addEventListener("click", function () {
      var f = b.getAttribute("data-filter");
      if (f === "all") { state.filter = {}; }
      else if (state.filter[f]) { delete state.filter[f]; }
      else { state.filter[f] = true; }
      apply();
      toHash();
    });
  });
  viewButtons.forEach(function (b) {
    b.addEventListener("click", function () { state.view = b.getAttribute("data-view"); resourcePage = 0; apply(); toHash(); });
  });
  var timer = null;
  search.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { state.q = search.value.trim(); resourcePage = 0; apply(); toHash(); }, 150);
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

  blocks.forEach(function (b) { if (b.pager) { renderBlock(b); } });
  nav.hidden = false;
  fromHash();
  apply();
  document.body.setAttribute("data-js", "ready");
})();
