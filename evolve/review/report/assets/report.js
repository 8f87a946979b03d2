// The adrs report's page script: draws the plots and the program pages from the JSON in #report-data.
// Text from the archive goes into the page as text nodes only (el() below); the one use of innerHTML is for
// code lines, which the report's Python side has HTML-escaped and highlighted.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("report-data").textContent);
  const byId = new Map(data.programs.map((p) => [p.id, p]));
  const children = new Map();
  for (const p of data.programs) {
    for (const q of p.parents) {
      if (!children.has(q)) children.set(q, []);
      children.get(q).push(p.id);
    }
  }
  const frontier = new Set(data.frontier);
  const objectives = new Map(data.objectives.map((o) => [o.name, o]));
  const primary = data.objectives.find((o) => o.search) || data.objectives[0];
  const plotConfig = { displaylogo: false, responsive: true };
  const colors = { frontier: "#d62728", others: "#b8bec5", seed: "#2ca02c", baseline: "#1f77b4", bound: "#111" };

  // -- helpers ------------------------------------------------------------------------------------------

  function el(tag, props, ...kids) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (key === "class") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined) continue;
      node.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return node;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "-";
    if (typeof v !== "number") return String(v);
    if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(3);
    return String(+v.toPrecision(4));
  }
  function label(name) {
    const o = objectives.get(name);
    if (!o) return name;
    const better = o.direction === "min" ? "lower is better" : "higher is better";
    return (o.unit ? `${name} [${o.unit}]` : name) + ` (${better})`;
  }
  // Plotly reads a few HTML tags inside trace text; names shown there lose any angle bracket.
  const plain = (s) => String(s).replace(/[<>&"]/g, "");
  const link = (id) => el("a", { href: `#program-${Number(id)}` }, String(id));
  const value = (p, split, name) => (p.metrics[split] ? p.metrics[split][name] : undefined);
  const has = (v) => v !== null && v !== undefined;
  // Plotly sizes a plot once, from its box at that moment; a box that changes later (a sibling added to its
  // row, a window resized) would leave the plot at its old width, overflowing or half empty.
  const sized = typeof ResizeObserver === "function"
    ? new ResizeObserver((entries) => entries.forEach((e) => e.target.data && Plotly.Plots.resize(e.target))) : null;
  function plot(div, traces, layout) {
    Plotly.react(div, traces, layout, plotConfig);
    if (sized && !div.dataset.sized) { div.dataset.sized = "1"; sized.observe(div); }
  }
  // Values over two decades or more, all positive, read better on a log axis: on a linear one the few
  // programs far off squash the ones that matter into a corner.
  function scale(values) {
    const finite = values.filter((v) => typeof v === "number" && Number.isFinite(v));
    if (!finite.length || finite.some((v) => v <= 0)) return "linear";
    return Math.max(...finite) / Math.min(...finite) >= 100 ? "log" : "linear";
  }
  function table(headers, rows) {
    const head = headers ? el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))) : null;
    return el("table", {}, head, el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c) => el("td", {}, c))))));
  }

  // -- the frontier ---------------------------------------------------------------------------------------

  function programTrace(name, programs, split, x, y, marker) {
    return {
      type: "scatter", mode: "markers", name,
      x: programs.map((p) => value(p, split, x)), y: programs.map((p) => value(p, split, y)),
      customdata: programs.map((p) => p.id),
      text: programs.map((p) => `program ${p.id} (${plain(p.mutator)}, generation ${p.generation})`),
      hovertemplate: "%{text}<br>%{x}, %{y}<extra></extra>", marker,
    };
  }

  function frontierFigure(split, x, y) {
    const point = (p) => has(value(p, split, x)) && has(value(p, split, y));
    const front = data.frontier.map((id) => byId.get(id)).filter(point);
    const others = data.programs.filter((p) => !frontier.has(p.id) && point(p));
    const seeds = data.seeds.map((id) => byId.get(id)).filter(point);
    const traces = [
      programTrace("other programs", others, split, x, y, { color: colors.others, size: 5 }),
      { ...programTrace("frontier", front, split, x, y, { color: colors.frontier, size: 11, line: { width: 1, color: "#400" } }),
        uid: "frontier" },
      programTrace("seed", seeds, split, x, y, { color: colors.seed, size: 13, symbol: "square-open", line: { width: 2 } }),
    ];
    const baselines = data.baselines.filter((b) => b[split] && has(b[split][x]) && has(b[split][y]));
    traces.push({
      type: "scatter", mode: "markers+text", name: "baselines",
      x: baselines.map((b) => b[split][x]), y: baselines.map((b) => b[split][y]),
      text: baselines.map((b) => plain(b.name)), textposition: "top center",
      hovertemplate: "baseline %{text}<br>%{x}, %{y}<extra></extra>",
      marker: { color: colors.baseline, size: 11, symbol: "diamond" },
    });
    const shapes = [], annotations = [], stars = [];
    for (const bound of (data.bounds[split] || [])) {
      const bx = bound.metrics[x], by = bound.metrics[y];
      if (has(bx) && has(by)) stars.push(bound);
      else if (has(bx) || has(by)) {
        const vertical = has(bx);
        shapes.push({ type: "line", xref: vertical ? "x" : "paper", yref: vertical ? "paper" : "y",
          x0: vertical ? bx : 0, x1: vertical ? bx : 1, y0: vertical ? 0 : by, y1: vertical ? 1 : by,
          line: { color: colors.bound, dash: "dash", width: 1.5 } });
        annotations.push({ xref: vertical ? "x" : "paper", yref: vertical ? "paper" : "y",
          x: vertical ? bx : 1, y: vertical ? 1 : by, xanchor: vertical ? "left" : "right", yanchor: "bottom",
          text: "bound: " + plain(bound.name), showarrow: false, font: { size: 11 } });
      }
    }
    traces.push({
      type: "scatter", mode: "markers+text", name: "bounds",
      x: stars.map((b) => b.metrics[x]), y: stars.map((b) => b.metrics[y]),
      text: stars.map((b) => plain(b.name)), textposition: "bottom center",
      marker: { color: colors.bound, size: 13, symbol: "star" }, hovertemplate: "bound %{text}<extra></extra>",
    });
    if (!front.length && !others.length) {
      annotations.push({ xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false,
        text: split === "test" ? "no test scores yet: the frontier is scored on test when the run ends"
          : "no program passed this split yet" });
    }
    const shown = traces.slice(0, 4);
    const layout = {
      title: { text: `${split} (${front.length} frontier programs)` }, margin: { l: 60, r: 20, t: 40, b: 50 },
      xaxis: { title: { text: label(x) }, zeroline: false, type: scale(shown.flatMap((t) => t.x)) },
      yaxis: { title: { text: label(y) }, zeroline: false, type: scale(shown.flatMap((t) => t.y)) },
      legend: { orientation: "h", y: -0.18 }, shapes, annotations, hovermode: "closest",
    };
    return { traces, layout };
  }

  function openOnClick(div) {
    div.on("plotly_click", (event) => {
      const id = event.points && event.points[0] && event.points[0].customdata;
      if (Number.isInteger(id)) location.hash = `#program-${id}`;
    });
  }

  function drawFrontier() {
    const x = document.getElementById("axis-x").value, y = document.getElementById("axis-y").value;
    for (const split of ["train", "test"]) {
      const div = document.getElementById(`frontier-${split}`);
      const { traces, layout } = frontierFigure(split, x, y);
      plot(div, traces, layout);
    }
  }

  function setUpFrontier() {
    const axes = data.axes.filter((a) => data.programs.some((p) => has(value(p, "train", a))));
    const choices = axes.length ? axes : data.axes;
    const [sx, sy] = [document.getElementById("axis-x"), document.getElementById("axis-y")];
    for (const select of [sx, sy]) for (const a of choices) select.append(el("option", { value: a }, a));
    sx.value = choices[0];
    sy.value = choices[Math.min(1, choices.length - 1)];
    sx.addEventListener("change", drawFrontier);
    sy.addEventListener("change", drawFrontier);
    drawFrontier();
    openOnClick(document.getElementById("frontier-train"));
    openOnClick(document.getElementById("frontier-test"));
  }

  // -- best over time -------------------------------------------------------------------------------------

  function drawProgress() {
    const box = document.getElementById("progress-plots");
    const pr = data.progress;
    const spent = pr.dollars.length && pr.dollars[pr.dollars.length - 1] > 0;
    const second = spent ? ["dollars", "LLM dollars spent"]
      : pr.evaluations ? ["evaluations", "sandbox evaluations (this run spent no LLM dollars)"] : null;
    for (const [name, series] of Object.entries(pr.best)) {
      const row = el("div", { class: "pair" });
      box.append(el("h3", {}, label(name)), row);
      const axes = [["iteration", "iteration"]].concat(second ? [second] : []);
      // Every box of the row first, then the plots: each is sized from its final share of the row.
      const divs = axes.map(([key]) => row.appendChild(el("div", { class: "plot small", id: `progress-${name}-${key}` })));
      axes.forEach(([key, title], i) => {
        plot(divs[i], [{ type: "scatter", mode: "lines", line: { shape: "hv", color: colors.frontier },
          x: pr[key], y: series, name: `best ${name} on train`, hovertemplate: "%{x}: %{y}<extra></extra>" }],
        { margin: { l: 60, r: 20, t: 30, b: 45 }, title: { text: `over ${key}`, font: { size: 13 } },
          xaxis: { title: { text: title } }, yaxis: { title: { text: `best ${name} (train)` }, type: scale(series) } });
      });
    }
  }

  // -- lineage --------------------------------------------------------------------------------------------

  function ancestors(id) {
    const seen = new Set([id]), order = [id];
    for (let i = 0; i < order.length; i++) {
      for (const q of byId.get(order[i]).parents) {
        if (byId.has(q) && !seen.has(q)) { seen.add(q); order.push(q); }
      }
    }
    return order.map((q) => byId.get(q));
  }

  function drawLineage() {
    const id = Number(document.getElementById("lineage-select").value);
    const nodes = ancestors(id);
    const y = (p) => value(p, "train", primary.name);
    const main = { x: [], y: [] }, cross = { x: [], y: [] };
    for (const p of nodes) {
      p.parents.forEach((q, i) => {
        const parent = byId.get(q);
        if (!parent) return;
        const edge = i === 0 ? main : cross;
        edge.x.push(parent.iteration, p.iteration, null);
        edge.y.push(y(parent), y(p), null);
      });
    }
    const traces = [
      { type: "scatter", mode: "lines", name: "main parent", x: main.x, y: main.y, line: { color: "#8a949e" }, hoverinfo: "skip" },
      { type: "scatter", mode: "lines", name: "crossover parent", x: cross.x, y: cross.y, line: { color: "#8a949e", dash: "dot" }, hoverinfo: "skip" },
      programTrace("ancestors", nodes.filter((p) => p.id !== id), "train", "iteration", primary.name, { color: colors.baseline, size: 8 }),
      programTrace("this program", [byId.get(id)], "train", "iteration", primary.name, { color: colors.frontier, size: 14, symbol: "star" }),
    ];
    for (const t of traces.slice(2)) t.x = t.customdata.map((q) => byId.get(q).iteration);
    const div = document.getElementById("lineage-plot");
    plot(div, traces, { margin: { l: 60, r: 20, t: 30, b: 45 }, hovermode: "closest",
      title: { text: `program ${id} and its ${nodes.length - 1} ancestors` }, xaxis: { title: { text: "iteration" } },
      yaxis: { title: { text: `${label(primary.name)} on train` }, type: scale(nodes.map(y)) } });
    const chain = [byId.get(id)];
    while (chain[chain.length - 1].parents.length && byId.has(chain[chain.length - 1].parents[0])) {
      const next = byId.get(chain[chain.length - 1].parents[0]);
      if (chain.includes(next)) break;
      chain.push(next);
    }
    chain.reverse();
    const rows = chain.map((p, i) => {
      const before = i ? y(chain[i - 1]) : undefined;
      const change = has(before) && has(y(p)) ? fmt(y(p) - before) : "";
      return [link(p.id), fmt(p.iteration), p.mutator, p.model || "-", fmt(y(p)), change,
        fmt(value(p, "test", primary.name)), p.note.length > 140 ? p.note.slice(0, 140) + "..." : p.note];
    });
    document.getElementById("lineage-chain").replaceChildren(
      table(["id", "iteration", "mutator", "model", `${primary.name} train`, "change", `${primary.name} test`, "note"], rows));
  }

  function setUpLineage() {
    const select = document.getElementById("lineage-select");
    for (const id of data.frontier) {
      const p = byId.get(id);
      select.append(el("option", { value: String(id) }, `${id}: ${primary.name} ${fmt(value(p, "train", primary.name))} (${p.mutator})`));
    }
    if (!data.frontier.length) return;
    select.addEventListener("change", drawLineage);
    drawLineage();
    openOnClick(document.getElementById("lineage-plot"));
  }

  // -- a program's page -----------------------------------------------------------------------------------

  function codeLine(number, lineIndex, cls, sign) {
    const code = document.createElement("code");
    code.innerHTML = data.lines[lineIndex]; // escaped and highlighted by highlight.py
    const row = el("div", { class: cls || "" }, el("span", { class: "n" }, String(number)));
    if (sign !== undefined) row.append(el("span", { class: "sign" }, sign));
    row.append(code);
    return row;
  }

  function diffView(p) {
    const parent = byId.get(p.parents[0]);
    if (!p.diff.length) return el("p", {}, "No line differs from the parent.");
    const box = el("div", { class: "diff" });
    for (const h of p.diff) {
      box.append(el("div", { class: "hunk" }, `@@ -${h[0] + 1},${h[1] - h[0]} +${h[2] + 1},${h[3] - h[2]} @@`));
      for (let i = 4; i < h.length; i += 3) {
        const [op, first, last] = [h[i], h[i + 1], h[i + 2]];
        for (let k = first; k < last; k++) {
          const lines = op === 1 ? parent.code : p.code;
          box.append(codeLine(k + 1, lines[k], ["ctx", "del", "add"][op], " -+"[op]));
        }
      }
    }
    return box;
  }

  function metricsTable(p) {
    const splits = Object.keys(p.metrics);
    if (!splits.length) return el("p", {}, "No split passed: no metrics.");
    const names = [...new Set([...data.axes, ...splits.flatMap((s) => Object.keys(p.metrics[s]))])]
      .filter((n) => splits.some((s) => n in p.metrics[s]));
    return table(["metric", ...splits], names.map((n) => [objectives.has(n) ? label(n) : n, ...splits.map((s) => fmt(p.metrics[s][n]))]));
  }

  function groupTable(p) {
    // One row per instance class, the splits side by side (train and test classes may differ, e.g. sizes).
    // A program's rows are aligned with data.classes[split] and data.axes (see data.py).
    const splits = Object.keys(p.groups);
    if (!splits.length) return null;
    const cell = (s, c, k) => {
      const row = p.groups[s][data.classes[s].indexOf(c)];
      return row ? row[k] : null;
    };
    const columns = data.axes.map((n, k) => [n, k])
      .filter(([, k]) => splits.some((s) => p.groups[s].some((row) => row && has(row[k]))));
    const classes = [...new Set(splits.flatMap((s) => data.classes[s]))].sort();
    const headers = ["class", ...splits.flatMap((s) => columns.map(([n]) => `${n} ${s}`))];
    const rows = classes.map((c) => [c, ...splits.flatMap((s) => columns.map(([, k]) => fmt(cell(s, c, k))))]);
    const details = el("details", { class: "groups" }, el("summary", {}, `Per instance class (${classes.length} classes)`),
      table(headers, rows));
    if (classes.length <= 12) details.open = true;
    return details;
  }

  function programPage(id) {
    const p = byId.get(id);
    const page = document.getElementById("program-page");
    if (!p) { page.replaceChildren(el("p", {}, `No program ${id} in this run.`)); return; }
    const badges = [el("span", { class: `badge ${p.status === "ok" ? "ok" : "failed"}` }, p.status)];
    if (frontier.has(id)) badges.push(el("span", { class: "badge frontier" }, "frontier"));
    const kids = (children.get(id) || []);
    const facts = [
      ["mutator", p.mutator], ["model", p.model || "-"], ["iteration", fmt(p.iteration)],
      ["generation", fmt(p.generation)], ["island", fmt(p.island)],
      ["parents", p.parents.length ? p.parents.flatMap((q, i) => (i ? [", ", link(q)] : [link(q)])) : "none (a seed)"],
      ["children", kids.length ? kids.flatMap((q, i) => (i ? [", ", link(q)] : [link(q)])) : "none"],
      ["note", p.note || "-"],
    ];
    const parts = [
      el("p", {}, el("a", { href: "#programs" }, "back to the report")),
      el("h2", { id: `program-${id}-title` }, `Program ${id}`, ...badges),
      table(null, facts),
      el("h3", {}, "Metrics per split"), metricsTable(p), groupTable(p),
    ];
    if (p.diff) {
      parts.push(el("h3", {}, "Diff to its parent ", link(p.parents[0])), diffView(p));
    }
    parts.push(el("h3", {}, "Verifier feedback"), ...p.evals.map(([split, status, seconds, feedback]) => [
      el("h4", {}, `${split}: ${status}${has(seconds) ? ` (${fmt(seconds)} s)` : ""}`),
      el("pre", { class: "text" }, feedback || "(none)")]).flat());
    if (p.calls.length) {
      parts.push(el("h3", {}, "Model calls that made it"), table(["model", "status", "tokens", "dollars", "seconds", "cached"],
        p.calls.map((c) => [c.model, c.status, fmt(c.tokens), fmt(c.dollars), fmt(c.seconds), c.cached ? "yes" : "no"])));
    }
    parts.push(el("h3", {}, "Code"), el("div", { class: "code" }, p.code.map((line, k) => codeLine(k + 1, line))));
    page.replaceChildren(...parts.filter(Boolean));
  }

  // -- the programs table ---------------------------------------------------------------------------------

  // Click a header to sort by it (again: the other way); type in the box to keep the rows that hold the text.
  function setUpIndex(tableNode) {
    const body = tableNode.tBodies[0], headers = [...tableNode.tHead.rows[0].cells];
    const cellValue = (row, i) => {
      const text = row.cells[i].textContent.trim(), number = Number(text);
      return text !== "" && text !== "-" && Number.isFinite(number) ? number : text;
    };
    let sortedBy = -1, ascending = true;
    headers.forEach((th, i) => {
      th.classList.add("sortable");
      th.title = "sort by this column";
      th.addEventListener("click", () => {
        ascending = sortedBy === i ? !ascending : true;
        sortedBy = i;
        const rows = [...body.rows].sort((a, b) => {
          const [u, v] = [cellValue(a, i), cellValue(b, i)];
          const order = typeof u === typeof v ? (u < v ? -1 : u > v ? 1 : 0) : typeof u === "number" ? -1 : 1;
          return ascending ? order : -order;
        });
        body.append(...rows);
        headers.forEach((h, j) => h.setAttribute("aria-sort", j === i ? (ascending ? "ascending" : "descending") : "none"));
      });
    });
    const box = el("input", { type: "search", class: "filter", placeholder: "filter: text in any column" });
    box.addEventListener("input", () => {
      const wanted = box.value.trim().toLowerCase();
      for (const row of body.rows) row.hidden = wanted !== "" && !row.textContent.toLowerCase().includes(wanted);
    });
    tableNode.before(box);
  }

  // -- views ----------------------------------------------------------------------------------------------

  let drawn = false;
  function route() {
    const match = /^#program-(\d+)$/.exec(location.hash);
    const report = document.getElementById("report"), page = document.getElementById("program-page");
    if (match) {
      programPage(Number(match[1]));
      report.hidden = true;
      page.hidden = false;
      window.scrollTo(0, 0);
      return;
    }
    page.hidden = true;
    report.hidden = false;
    if (!drawn) { // plots are drawn once their section is visible, so that plotly can measure it
      drawn = true;
      const index = document.querySelector("#programs table.index");
      if (index) setUpIndex(index);
      setUpFrontier();
      // The frontier shows first; the plots further down follow once the browser has painted it.
      setTimeout(() => { drawProgress(); setUpLineage(); }, 0);
    }
    const target = location.hash && document.getElementById(location.hash.slice(1));
    if (target) target.scrollIntoView();
  }
  window.addEventListener("hashchange", route);
  route();
})();
