(function () {
  "use strict";
  // The findings table: page, filter and expand findings held in the JSON data block.
  // Every value is attacker-controlled text: it only ever reaches the page through textContent.
  var t0 = performance.now();
  var data = JSON.parse(document.getElementById("nightowl-data").textContent);
  var all = data.findings;
  var sevOrder = data.severities;
  var CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;
  var state = { sev: {}, cat: "", q: "", id: "", page: 0, size: 50 };
  var matching = all;
  var haystacks = null;
  var open = {};
  sevOrder.forEach(function (s) { state.sev[s] = true; });

  var body = document.getElementById("findings-body");
  var info = document.getElementById("pageinfo");
  var search = document.getElementById("search");
  var catSelect = document.getElementById("category");
  var sizeSelect = document.getElementById("pagesize");
  var table = document.getElementById("findings-table");

  function clean(value, limit) {
    var s = value === null || value === undefined ? "" : String(value);
    s = s.replace(CONTROL, "\ufffd");
    if (limit && s.length > limit) s = s.slice(0, limit - 1) + "\u2026";
    return s;
  }
  function arr(value) { return Array.isArray(value) ? value : []; }
  function obj(value) { return value && typeof value === "object" && !Array.isArray(value) ? value : null; }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function list(values, limit) {
    values = arr(values);
    var shown = values.slice(0, limit).map(function (v) { return clean(v, 120); }).join(", ");
    return values.length > limit ? shown + " \u2026 and " + (values.length - limit).toLocaleString() + " more" : shown;
  }
  function when(iso) { return iso ? clean(iso, 40).replace("T", " ").slice(0, 16) : "-"; }

  function haystack(f) {
    var parts = [f.id, f.severity, f.category, f.detection, f.title, f.summary, f.rule, f.redacted,
      arr(f.users).join(" "), arr(f.compromised_users).join(" "), arr(f.source_ips).join(" "),
      arr(f.incidents).join(" ")];
    arr(f.applications).forEach(function (a) { if (obj(a)) parts.push(a.id, a.name); });
    arr(f.locations).forEach(function (l) { if (obj(l)) parts.push(l.path, l.commit, l.message_id); });
    if (f.evidence) parts.push(JSON.stringify(f.evidence).slice(0, 5000));
    return parts.filter(function (p) { return p !== undefined && p !== null; }).map(String).join("\n").toLowerCase();
  }

  function applyFilters() {
    var terms = state.q.toLowerCase().split(/\s+/).filter(Boolean);
    if (state.id) terms = [];
    if (terms.length && !haystacks) haystacks = all.map(haystack);
    matching = [];
    for (var i = 0; i < all.length; i++) {
      var f = all[i];
      if (!state.sev[f.severity]) continue;
      if (state.cat && f.category !== state.cat) continue;
      if (state.id && f.id !== state.id) continue;
      var ok = true;
      for (var k = 0; k < terms.length && ok; k++) ok = haystacks[i].indexOf(terms[k]) !== -1;
      if (ok) matching.push(f);
    }
    state.page = 0;
    render();
  }

  function detailRow(f) {
    var tr = el("tr", "detail");
    var td = el("td");
    td.colSpan = 7;
    var dl = el("dl");
    function add(label, value) {
      if (value === undefined || value === null || value === "" || (Array.isArray(value) && !value.length)) return;
      dl.appendChild(el("dt", null, label));
      var dd = el("dd");
      if (value instanceof Node) dd.appendChild(value); else dd.textContent = clean(value, 4000);
      dl.appendChild(dd);
    }
    add("id", f.id);
    add("summary", f.summary);
    add("detection", f.detection);
    add("ATT&CK", arr(f.attack).join(", "));
    add("when", when(f.first_seen) + " \u2192 " + when(f.last_seen) + " UTC");
    add("compromised", list(f.compromised_users, 50));
    add("accounts (" + arr(f.users).length.toLocaleString() + ")", list(f.users, 200));
    add("sources (" + arr(f.source_ips).length.toLocaleString() + ")", list(f.source_ips, 200));
    add("applications", list(arr(f.applications).filter(obj).map(function (a) { return a.name + " (" + a.id + ")"; }), 50));
    if (f.category === "secret") {
      add("rule", f.rule);
      add("secret (redacted)", f.redacted);
      add("sha-256", f.secret_sha256);
      add("locations (" + arr(f.locations).length.toLocaleString() + ")", list(arr(f.locations).filter(obj).map(function (l) {
        return l.path + (l.line ? ":" + l.line : "") + (l.commit ? " @ " + String(l.commit).slice(0, 12) : "") +
          (l.message_id ? " " + l.message_id : "");
      }), 50));
    }
    if (obj(f.counts) && Object.keys(f.counts).length) add("counts", JSON.stringify(f.counts));
    if (arr(f.incidents).length) add("incident", f.incidents.join(", "));
    if (obj(f.evidence) && Object.keys(f.evidence).length) {
      var pre = el("pre", null, clean(JSON.stringify(f.evidence, null, 2), 20000));
      add("evidence", pre);
    }
    td.appendChild(dl);
    tr.appendChild(td);
    return tr;
  }

  function row(f) {
    var tr = el("tr", "row" + (open[f.id] ? " open" : ""));
    tr.tabIndex = 0;
    tr.dataset.id = f.id;
    var sev = el("td");
    sev.appendChild(el("span", "badge sev-" + (sevOrder.indexOf(f.severity) >= 0 ? f.severity : "info"), clean(f.severity, 10)));
    tr.appendChild(sev);
    tr.appendChild(el("td", null, clean(f.category, 40)));
    tr.appendChild(el("td", null, clean(f.title, 160)));
    tr.appendChild(el("td", "num", arr(f.users).length.toLocaleString()));
    tr.appendChild(el("td", "num", arr(f.source_ips).length.toLocaleString()));
    tr.appendChild(el("td", null, when(f.first_seen)));
    tr.appendChild(el("td", null, arr(f.incidents).length ? clean(f.incidents[0], 20) : ""));
    return tr;
  }

  function render() {
    var pages = Math.max(1, Math.ceil(matching.length / state.size));
    if (state.page >= pages) state.page = pages - 1;
    var start = state.page * state.size;
    var slice = matching.slice(start, start + state.size);
    var frag = document.createDocumentFragment();
    slice.forEach(function (f) {
      frag.appendChild(row(f));
      if (open[f.id]) frag.appendChild(detailRow(f));
    });
    body.replaceChildren(frag);
    info.textContent = matching.length
      ? (start + 1).toLocaleString() + "\u2013" + (start + slice.length).toLocaleString() + " of " +
        matching.length.toLocaleString() + " matching (" + all.length.toLocaleString() + " findings)"
      : "no finding matches (" + all.length.toLocaleString() + " findings)";
    table.dataset.matching = String(matching.length);
    table.dataset.shown = String(slice.length);
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
  }

  function toggle(tr) {
    var id = tr.dataset.id;
    if (open[id]) delete open[id]; else open[id] = true;
    render();
  }

  var cats = {};
  all.forEach(function (f) { cats[f.category] = (cats[f.category] || 0) + 1; });
  Object.keys(cats).sort().forEach(function (c) {
    var opt = el("option", null, clean(c, 40) + " (" + cats[c].toLocaleString() + ")");
    opt.value = c;
    catSelect.appendChild(opt);
  });

  document.querySelectorAll("input[name=sev]").forEach(function (box) {
    box.addEventListener("change", function () { state.sev[box.value] = box.checked; applyFilters(); });
  });
  catSelect.addEventListener("change", function () { state.cat = catSelect.value; applyFilters(); });
  var timer = null;
  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = search.value; state.id = ""; applyFilters(); }, 150);
  });
  sizeSelect.addEventListener("change", function () { state.size = parseInt(sizeSelect.value, 10) || 50; state.page = 0; render(); });
  document.getElementById("prev").addEventListener("click", function () { state.page -= 1; render(); });
  document.getElementById("next").addEventListener("click", function () { state.page += 1; render(); });
  body.addEventListener("click", function (ev) {
    var tr = ev.target.closest("tr.row");
    if (tr) toggle(tr);
  });
  body.addEventListener("keydown", function (ev) {
    var tr = ev.target.closest("tr.row");
    if (tr && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); toggle(tr); }
  });
  // Links from incidents and tables: show that one finding, opened.
  document.addEventListener("click", function (ev) {
    var link = ev.target.closest("a[data-finding]");
    if (!link) return;
    var id = link.dataset.finding;
    search.value = id;
    state.q = id;
    state.id = id;
    state.cat = "";
    catSelect.value = "";
    sevOrder.forEach(function (s) { state.sev[s] = true; });
    document.querySelectorAll("input[name=sev]").forEach(function (box) { box.checked = true; });
    open[id] = true;
    applyFilters();
  });

  render();
  window.nightowlReport = { readyMs: performance.now(), scriptMs: performance.now() - t0, findings: all.length };
  document.documentElement.dataset.ready = "1";
})();
