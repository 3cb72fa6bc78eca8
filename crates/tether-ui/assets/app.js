// tether ui: the schema mapping page. Everything it shows comes from /api/mapping;
// every change goes to the server, which plans it exactly as `tether plan` would and
// refuses it with the planner's message when it would break a key.
"use strict";

let view = null;
let editing = null; // { table, column }
let ids = new Map(); // table name -> element id (names may hold any character)

const $ = (id) => document.getElementById(id);

// el("td", { class: "x", "data-a": 1 }, child, "text", ...): DOM without innerHTML, so
// names from the database are always text.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "onclick") node.addEventListener("click", v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new Error("tether ui is not reachable (was it stopped?)");
  }
  const data = await res.json().catch(() => ({ error: res.status + " " + res.statusText }));
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
}

function slug(name) {
  return ids.get(name) || "t-unknown";
}

function rowOf(table, column) {
  const card = document.getElementById(slug(table));
  return card ? card.querySelector(`tr[data-column="${CSS.escape(column)}"]`) : null;
}

function setStatus(text, dirty) {
  const s = $("status");
  s.textContent = text;
  s.title = text;
  s.className = dirty ? "dirty" : "";
}

function specsOf(v) {
  const out = new Map();
  for (const t of v.tables) {
    for (const c of t.columns) out.set(JSON.stringify([t.name, c.name]), c.transformer ? c.transformer.spec : "");
  }
  return out;
}

function render(newView, changedFrom) {
  const before = changedFrom ? specsOf(changedFrom) : null;
  view = newView;
  ids = new Map(view.tables.map((t, i) => [t.name, "t-" + i]));
  $("job").textContent = view.job;
  $("source").textContent = view.source;
  $("save").disabled = !view.dirty;
  if (view.dirty) setStatus("Unsaved changes", true);
  else if ($("status").classList.contains("dirty")) setStatus("No unsaved changes", false);
  const err = $("error");
  err.hidden = !view.error;
  err.textContent = view.error ? "This job does not plan yet: " + view.error : "";
  renderSummary();
  renderOrder();
  renderCycles();
  const host = $("tables");
  host.replaceChildren(...view.tables.map(renderTable));
  applyFilter();
  if (before) {
    let changed = 0;
    for (const [key, spec] of specsOf(view)) {
      if (before.get(key) !== spec) {
        changed++;
        const [table, column] = JSON.parse(key);
        const row = rowOf(table, column);
        if (row) flash(row);
      }
    }
    return changed;
  }
  return 0;
}

function renderSummary() {
  const copied = view.tables.filter((t) => !t.excluded);
  const cols = copied.flatMap((t) => t.columns);
  const fks = new Set();
  let virtual = 0;
  for (const t of copied) for (const c of t.columns) for (const fk of c.foreign_keys) {
    const key = JSON.stringify([t.name, fk.name]);
    if (!fks.has(key)) {
      fks.add(key);
      if (fk.virtual) virtual++;
    }
  }
  const set = cols.filter((c) => c.transformer && c.transformer.origin === "set").length;
  const inherited = cols.filter((c) => c.transformer && c.transformer.origin === "inherited").length;
  const unchanged = cols.length - set - inherited;
  const parts = [
    [copied.length, copied.length === 1 ? " table" : " tables"],
    [fks.size, (fks.size === 1 ? " foreign key" : " foreign keys") + (virtual ? ` (${virtual} virtual)` : "")],
    [view.cycles.length, view.cycles.length === 1 ? " cycle" : " cycles"],
    [set, set === 1 ? " transformer set" : " transformers set"],
    [inherited, " inherited through foreign keys"],
    [unchanged, unchanged === 1 ? " column copied unchanged" : " columns copied unchanged"],
  ];
  const excluded = view.tables.length - copied.length;
  if (excluded) parts.push([excluded, " left out by the job"]);
  $("summary").replaceChildren(...parts.flatMap(([n, label], i) =>
    [i ? " · " : "", el("strong", {}, String(n)), label]));
}

function renderOrder() {
  const cyclic = new Set(view.cycles.flatMap((c) => c.tables));
  const items = view.levels.map((level, i) =>
    el("li", { class: "group" },
      el("span", { class: "group-label" }, `group ${i + 1}`),
      el("div", {}, level.map((name) =>
        el("a", { href: "#" + slug(name), class: cyclic.has(name) ? "in-cycle" : null, "data-table": name }, name)))));
  $("order").replaceChildren(...items);
}

function renderCycles() {
  const list = $("cycles");
  if (view.cycles.length === 0) {
    list.replaceChildren(el("li", {}, "none"));
    return;
  }
  list.replaceChildren(...view.cycles.map((c) =>
    el("li", {},
      el("strong", {}, c.tables.join(" ↔ ")),
      el("br"),
      c.strategy === "break"
        ? `loaded with ${c.foreign_keys.join(", ")} NULL, then updated`
        : `no nullable FK breaks it: loaded with checks deferred (${c.foreign_keys.join(", ")}), then verified`)));
}

function renderTable(t) {
  const head = el("div", { class: "card-head" },
    el("h2", {}, t.name),
    t.step ? el("span", { class: "pill" }, `step ${t.step} · group ${t.group}`) : el("span", { class: "pill" }, "not copied"),
    t.cycle !== null && t.cycle !== undefined
      ? el("span", { class: "pill cycle", title: "This table is part of a foreign-key cycle" },
          "cycle: " + view.cycles[t.cycle].tables.join(" ↔ "))
      : null,
    t.rows.length ? el("span", { class: "rows" }, "rows: " + t.rows.join("; ")) : null);
  const table = el("table", { class: "cols" },
    el("colgroup", {},
      el("col", { class: "c-name" }), el("col", { class: "c-type" }), el("col", { class: "c-null" }),
      el("col", { class: "c-keys" }), el("col", {}), el("col", { class: "c-edit" })),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, "Column"), el("th", { scope: "col" }, "Type"), el("th", { scope: "col" }, "Null"),
      el("th", { scope: "col" }, "Keys"), el("th", { scope: "col" }, "Transformer"), el("th", { scope: "col" }, el("span", { class: "skip" }, "Edit")))),
    el("tbody", {}, t.columns.map((c) => renderColumn(t, c))));
  return el("section", { class: "card" + (t.excluded ? " excluded" : ""), id: slug(t.name), "data-table": t.name, "aria-label": "table " + t.name }, head, table);
}

let tipCount = 0;

function renderColumn(t, c) {
  const keys = el("td", { class: "keys" },
    c.primary_key ? el("span", { class: "badge pk", title: "primary key" }, "PK") : null,
    c.unique ? el("span", { class: "badge uq", title: "part of a unique key" }, "Unique") : null,
    c.foreign_keys.map((fk) => {
      const id = "tip-" + (++tipCount);
      return el("span", { class: "fk-wrap" },
        el("button", {
          type: "button",
          class: "badge fk" + (fk.virtual ? " virtual" : ""),
          "aria-describedby": id,
          "data-parent": fk.parent_table + "." + fk.parent_column,
          "data-fk": fk.name,
          onclick: () => reveal(fk.parent_table, fk.parent_column),
        }, fk.virtual ? "Foreign Key · virtual" : "Foreign Key"),
        el("span", { role: "tooltip", id, class: "tip" },
          el("span", { class: "target" }, `→ ${fk.parent_table}.${fk.parent_column}`),
          el("br"),
          el("span", { class: "muted" }, (fk.virtual ? "virtual FK " : "FK ") + fk.name +
            (fk.columns.length > 1 ? ` (${fk.columns.join(", ")}) → (${fk.parent_columns.join(", ")})` : "")),
          el("br"),
          `ON DELETE ${fk.on_delete} · ON UPDATE ${fk.on_update}`));
    }));
  const xf = c.transformer;
  let cell;
  if (!xf) {
    cell = el("td", { class: "xf", "data-origin": "none" }, el("span", { class: "none" }, "copied unchanged"));
  } else if (xf.origin === "set") {
    cell = el("td", { class: "xf", "data-origin": "set" }, el("code", {}, xf.spec), el("span", { class: "origin set" }, "set here"));
  } else {
    const from = xf.inherited;
    cell = el("td", { class: "xf", "data-origin": "inherited" },
      el("code", {}, xf.spec),
      el("span", { class: "origin inherited" }, "inherited"),
      el("span", { class: "from" }, "from ",
        el("a", { href: "#" + slug(from.table), onclick: (e) => { e.preventDefault(); reveal(from.table, from.column); } },
          `${from.table}.${from.column}`),
        ` via FK ${from.foreign_key}`));
  }
  const followers = c.referenced_by.length
    ? el("span", { class: "followers", title: c.referenced_by.map((r) => `${r.table}.${r.column} (${r.foreign_key})`).join("\n") },
        `${c.referenced_by.length} FK column${c.referenced_by.length > 1 ? "s follow" : " follows"}`)
    : null;
  const label = `${t.name}.${c.name}`;
  return el("tr", { "data-column": c.name },
    el("td", { class: "name" }, c.name, followers),
    el("td", { class: "type" }, c.type, c.generated ? " (generated)" : ""),
    el("td", { class: "null" }, c.nullable ? "null" : "not null"),
    keys,
    cell,
    el("td", {}, el("button", {
      type: "button", class: "edit", "aria-label": "Edit the transformer of " + label,
      disabled: t.excluded || c.generated,
      onclick: () => openEditor(t, c),
    }, "Edit")));
}

function reveal(table, column) {
  const card = document.getElementById(slug(table));
  if (!card) return;
  if (card.hidden) {
    $("filter").value = "";
    applyFilter();
  }
  const row = card.querySelector(`tr[data-column="${CSS.escape(column)}"]`) || card;
  row.scrollIntoView({ block: "center", behavior: "smooth" });
  flash(row);
  const edit = row.querySelector("button.edit");
  if (edit) edit.focus({ preventScroll: true });
}

// Highlights a row for a moment.
function flash(row) {
  row.classList.add("flash");
  setTimeout(() => row.classList.remove("flash"), 2500);
}

function applyFilter() {
  const q = $("filter").value.trim().toLowerCase();
  for (const card of document.querySelectorAll("section.card")) {
    card.hidden = q !== "" && !card.dataset.table.toLowerCase().includes(q);
  }
  for (const a of document.querySelectorAll("#order a")) {
    a.hidden = q !== "" && !a.dataset.table.toLowerCase().includes(q);
  }
}

// ---------------------------------------------------------------- editor

function openEditor(t, c) {
  editing = { table: t.name, column: c.name };
  $("editor-title").textContent = `Transformer of ${t.name}.${c.name}`;
  const ctx = [];
  for (const fk of c.foreign_keys) {
    ctx.push(`References ${fk.parent_table}.${fk.parent_column} (FK ${fk.name}): it takes that column's transformer, so keys still match. A different one here is refused; set it on ${fk.parent_table}.${fk.parent_column} instead (or "null" on a nullable column).`);
  }
  if (c.referenced_by.length) {
    ctx.push(`Referenced by ${c.referenced_by.map((r) => `${r.table}.${r.column}`).join(", ")}: they inherit what you set here.`);
  }
  if (!ctx.length) ctx.push(`${c.type}, ${c.nullable ? "nullable" : "not null"}.`);
  $("editor-context").textContent = ctx.join(" ");
  const select = $("editor-kind");
  const xf = c.transformer;
  const current = xf && xf.origin === "set" ? xf.written_kind : "";
  select.replaceChildren(
    el("option", { value: "" }, "— choose a kind —"),
    el("optgroup", { label: "Deterministic (same input, same output)" },
      view.kinds.filter((k) => !k.name.startsWith("generate_")).map((k) => el("option", { value: k.name }, k.name))),
    el("optgroup", { label: "Random on every run (generate_*)" },
      view.kinds.filter((k) => k.name.startsWith("generate_")).map((k) => el("option", { value: k.name }, k.name))));
  select.value = current || "";
  $("editor-options").value = xf && xf.origin === "set" ? xf.written_options || "" : "";
  $("editor-remove").disabled = !(xf && xf.origin === "set");
  showSummary();
  showEditorError("");
  $("editor").showModal();
  select.focus();
}

function showSummary() {
  const k = view.kinds.find((x) => x.name === $("editor-kind").value);
  $("editor-summary").textContent = k ? k.summary : "";
}

function showEditorError(text) {
  const e = $("editor-error");
  e.hidden = !text;
  e.textContent = text;
}

async function applyEditor(kind) {
  const before = view;
  try {
    const next = await api("POST", "/api/transformer", {
      table: editing.table,
      column: editing.column,
      kind,
      options: $("editor-options").value,
    });
    $("editor").close();
    const changed = render(next, before);
    const what = kind === null ? "removed from" : "set on";
    setStatus(`Transformer ${what} ${editing.table}.${editing.column}` +
      (changed > 1 ? ` (${changed} columns changed)` : "") + (view.dirty ? " · unsaved" : " · as saved"), view.dirty);
    // The row was drawn again: give keyboard users their place back.
    const row = rowOf(editing.table, editing.column);
    const edit = row && row.querySelector("button.edit");
    if (edit) edit.focus();
  } catch (e) {
    showEditorError(e.message);
  }
}

// ------------------------------------------------------------------ views

async function showPlan(on) {
  $("show-plan").setAttribute("aria-pressed", String(on));
  $("show-mapping").setAttribute("aria-pressed", String(!on));
  $("plan-view").hidden = !on;
  $("mapping-view").hidden = on;
  if (!on) return;
  const pre = $("plan");
  pre.textContent = "planning…";
  try {
    pre.textContent = (await api("GET", "/api/plan")).text;
  } catch (e) {
    pre.textContent = "No plan: " + e.message;
  }
}

async function save() {
  if (view.error && !confirm("This job does not plan yet:\n\n" + view.error + "\n\nSave it anyway?")) return;
  try {
    const r = await api("POST", "/api/save", {});
    render(r.view);
    setStatus(`Saved ${r.saved.path} (the file as it was before: ${r.saved.backup})`, false);
  } catch (e) {
    setStatus("Not saved: " + e.message, true);
  }
  // Save is disabled now: keep the keyboard focus on the outcome.
  $("status").focus();
}

async function load() {
  try {
    render(await api("GET", "/api/mapping"));
    if (!view.dirty) setStatus("Saved", false);
  } catch (e) {
    const err = $("error");
    err.hidden = false;
    err.textContent = e.message;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("filter").addEventListener("input", applyFilter);
  $("editor-kind").addEventListener("change", showSummary);
  $("editor-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const kind = $("editor-kind").value;
    if (!kind) {
      showEditorError("Choose a kind, or use “Copy unchanged” to remove the transformer.");
      return;
    }
    applyEditor(kind);
  });
  $("editor-remove").addEventListener("click", () => applyEditor(null));
  $("editor-cancel").addEventListener("click", () => $("editor").close());
  $("save").addEventListener("click", save);
  $("show-plan").addEventListener("click", () => showPlan(true));
  $("show-mapping").addEventListener("click", () => showPlan(false));
  document.addEventListener("keydown", (e) => {
    const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
    if (e.key === "/" && !typing && !$("editor").open) {
      e.preventDefault();
      $("filter").focus();
    }
  });
  // Escape hides an FK tooltip until the badge loses focus or the pointer leaves it.
  document.addEventListener("keydown", (e) => {
    const wrap = e.key === "Escape" && document.activeElement.closest && document.activeElement.closest(".fk-wrap");
    if (wrap) wrap.classList.add("dismissed");
  });
  document.addEventListener("focusout", (e) => {
    const wrap = e.target.closest && e.target.closest(".fk-wrap");
    if (wrap) wrap.classList.remove("dismissed");
  });
  document.addEventListener("mouseout", (e) => {
    const wrap = e.target.closest && e.target.closest(".fk-wrap");
    if (wrap && !wrap.contains(e.relatedTarget)) wrap.classList.remove("dismissed");
  });
  window.addEventListener("beforeunload", (e) => {
    if (view && view.dirty) e.preventDefault();
  });
  load();
});
