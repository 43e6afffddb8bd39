(function () {
  "use strict";
  var all = function (s, r) { return Array.prototype.slice.call((r || document).querySelectorAll(s)); };
  var views = all("section.view");
  var buttons = all("nav.steps button");
  function show(id) {
    views.forEach(function (v) { v.hidden = v.id !== id; });
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.dataset.view === id)); });
  }
  buttons.forEach(function (b) { b.addEventListener("click", function () { show(b.dataset.view); }); });
  // The view the address names (`#v1`), else the last: a scenario's end, changes' after.
  var named = location.hash && document.getElementById(location.hash.slice(1));
  if (named && named.matches("section.view")) { show(named.id); }
  else if (buttons.length) { show(buttons[buttons.length - 1].dataset.view); }
  function viewOf(el) { return el.closest("section.view"); }
  function clear(view) {
    var svg = view.querySelector("svg.diagram");
    svg.classList.remove("picking");
    all(".route.sel", svg).forEach(function (p) { p.classList.remove("sel"); });
    all(".node.focus", svg).forEach(function (n) { n.classList.remove("focus"); });
    all("tr.sel", view).forEach(function (r) { r.classList.remove("sel"); });
  }
  function panel(view, html) {
    view.querySelector(".panel .body").innerHTML = html;
  }
  // Selects the drawn lines of one request (its path, or the bundles it passes) and says it in
  // the side panel: the row's detail, or a matrix cell's row and column.
  function pick(el, given) {
    var ids = given || (el.dataset.segs || (el.id ? el.id : "")).split(" ").filter(Boolean);
    var view = viewOf(el);
    if (!view) { return; }
    clear(view);
    view.querySelector("svg.diagram").classList.add("picking");
    var first = null;
    ids.forEach(function (id) {
      var p = document.getElementById(id);
      if (p) { p.classList.add("sel"); p.parentNode.appendChild(p); first = first || p; }
    });
    var row = el.tagName === "path" ? document.getElementById(el.dataset.row) : el.closest("tr");
    if (row) { row.classList.add("sel"); }
    var d = row && row.querySelector(".detail");
    if (d) { panel(view, d.innerHTML); }
    else if (el.tagName === "TD") {
      var table = el.closest("table");
      var head = table.tHead.rows[0].cells[el.cellIndex];
      var p1 = document.createElement("p"), s = document.createElement("strong");
      s.textContent = head ? head.textContent : "";
      p1.appendChild(s);
      p1.appendChild(document.createTextNode(" → " + row.cells[0].textContent));
      var p2 = document.createElement("p");
      p2.textContent = el.textContent;
      panel(view, p1.outerHTML + p2.outerHTML);
    } else if (el.tagName === "path") {
      var t = el.querySelector("title"), p3 = document.createElement("p");
      p3.textContent = t ? t.textContent : "";
      panel(view, p3.outerHTML);
    }
    return first;
  }
  function focusNode(node) {
    var view = viewOf(node);
    if (view.hidden) { show(view.id); }
    clear(view);
    node.classList.add("focus");
    var t = node.querySelector("title");
    var text = t ? t.textContent.split("\n") : [];
    var html = "";
    text.forEach(function (line, k) {
      var e = document.createElement(k === 0 ? "strong" : "span");
      e.textContent = line;
      html += "<p>" + e.outerHTML + "</p>";
    });
    panel(view, html);
    node.scrollIntoView({ block: "center", inline: "center" });
  }
  all("svg .route").forEach(function (p) {
    p.addEventListener("click", function () { pick(p); });
  });
  all("svg .node").forEach(function (n) {
    n.addEventListener("click", function () { focusNode(n); });
  });
  all("[data-segs]").forEach(function (r) {
    r.addEventListener("click", function () {
      var p = pick(r);
      if (p && p.scrollIntoView) { p.scrollIntoView({ block: "center", inline: "nearest" }); }
    });
  });
  // A matrix cell: its request's lines from the JSON beside the table.
  function wire(table, data) {
    table.addEventListener("click", function (e) {
      var td = e.target.closest("td");
      if (!td) { return; }
      var row = td.parentNode.sectionRowIndex, col = td.cellIndex - 1;
      var i = (data.grid[row] || [])[col];
      if (i === undefined || i < 0) { return; }
      var ids = data.drawn[i].map(function (n) { return data.view + "-" + data.kind + n; });
      var p = pick(td, ids);
      if (p && p.scrollIntoView) { p.scrollIntoView({ block: "center", inline: "nearest" }); }
    });
  }
  function grid(id) { return JSON.parse(document.getElementById(id).textContent); }
  all("table.matrix").forEach(function (table) { wire(table, grid(table.dataset.grid)); });
  // A large matrix: built from the same JSON the first time it is opened.
  function build(d) {
      if (d.querySelector("table")) { return; }
      var data = grid(d.dataset.grid);
      var table = document.createElement("table");
      table.className = "matrix";
      var head = table.createTHead().insertRow();
      ["Target"].concat(data.froms).forEach(function (f) {
        var th = document.createElement("th"); th.scope = "col"; th.textContent = f; head.appendChild(th);
      });
      var body = table.createTBody();
      data.targets.forEach(function (t, r) {
        var tr = body.insertRow(), th = document.createElement("th");
        th.scope = "row"; th.textContent = t; tr.appendChild(th);
        data.grid[r].forEach(function (i) {
          var td = tr.insertCell();
          if (i >= 0) { var x = data.results[data.res[i]]; td.className = x[0]; td.textContent = x[1]; }
        });
      });
      d.querySelector(".scroll").appendChild(table);
      wire(table, data);
  }
  all("details.lazy").forEach(function (d) {
    d.addEventListener("toggle", function () { if (d.open) { build(d); } });
  });
  // An address naming a large matrix (`#v0-matrix`) opens it.
  if (named && named.matches("details.lazy")) {
    show(viewOf(named).id);
    build(named);
    named.open = true;
  }
  all("a[data-node]").forEach(function (a) {
    a.addEventListener("click", function (e) {
      var n = document.getElementById(a.dataset.node);
      if (n) { e.preventDefault(); focusNode(n); }
    });
  });
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (e.key === "Escape") { views.forEach(clear); return; }
    if (e.key !== "Enter" && e.key !== " ") { return; }
    if (t.classList && t.classList.contains("route")) { e.preventDefault(); pick(t); }
    else if (t.classList && t.classList.contains("node")) { e.preventDefault(); focusNode(t); }
    else if (t.dataset && t.dataset.segs !== undefined) { e.preventDefault(); pick(t); }
  });
  var themes = ["auto", "light", "dark"];
  var theme = document.getElementById("theme");
  theme.addEventListener("click", function () {
    var now = themes[(themes.indexOf(document.documentElement.dataset.theme || "auto") + 1) % 3];
    if (now === "auto") { delete document.documentElement.dataset.theme; } else { document.documentElement.dataset.theme = now; }
    theme.textContent = "theme: " + now;
  });
  document.getElementById("print").addEventListener("click", function () { window.print(); });
  document.body.dataset.ready = "yes";
  document.body.dataset.renderMs = String(Math.round(performance.now()));
})();
