// tether ui: the schema mapping page. Everything it shows comes from /api/mapping;
// every change goes to the server, which plans it exactly as `tether plan` would and
// refuses it with the planner's message when it would break a key.
"use strict";

let view = null;
let editing = null; // { table, column }
const gridFilters = new Set(); // pressed filters of the All columns view
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
  for (const c of children.flat(Infinity)) {
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

// A column's row in the view on screen (the tables or the grid).
function rowOf(table, column) {
  if (!$("grid-view").hidden) {
    return [...$("grid-rows").rows].find((r) => r.dataset.table === table && r.dataset.column === column) || null;
  }
  const card = document.getElementById(slug(table));
  return card ? card.querySelector(`tr[data-column="${CSS.escape(column)}"]`) : null;
}

// Personal data copied unchanged, nobody said why.
function exposed(c) {
  return !!c.personal && c.personal.protection === "unprotected";
}

function transformed(c) {
  return !!c.transformer && c.transformer.kind !== "passthrough";
}

// The column and its table, for every column of the job, in load order.
function allColumns() {
  return view.tables.flatMap((t) => t.columns.map((c) => ({ t, c })));
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
  // privacy = "strict": the mapping plans, but `tether plan` and `tether sync` refuse it.
  const refusal = view.privacy && view.privacy.refusal;
  $("privacy-refusal").hidden = !refusal;
  $("privacy-refusal").textContent = refusal ? "tether plan and tether sync refuse this job: " + refusal : "";
  renderSummary();
  renderOrder();
  renderCycles();
  const host = $("tables");
  host.replaceChildren(...view.tables.map(renderTable));
  renderGrid();
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
  const open = cols.filter(exposed).length;
  if (open) parts.push([open, (open === 1 ? " personal column" : " personal columns") + " copied unchanged", "warn"]);
  $("summary").replaceChildren(...parts.flatMap(([n, label, cls], i) =>
    [i ? " · " : "", el("span", { class: cls || null }, el("strong", {}, String(n)), label)]));
}

function renderOrder() {
  const cyclic = new Set(view.cycles.flatMap((c) => c.tables));
  const items = view.levels.map((level, i) =>
    el("li", { class: "group" },
      el("span", { class: "group-label" }, `step ${i + 1}`),
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
    t.step ? el("span", { class: "pill" }, `#${t.step} · step ${t.group}`) : el("span", { class: "pill" }, "not copied"),
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
      el("th", { scope: "col" }, "Keys"), el("th", { scope: "col" }, "Transformer"), el("th", { scope: "col" }, el("span", { class: "sr-only" }, "Edit")))),
    el("tbody", {}, t.columns.map((c) => renderColumn(t, c))));
  return el("section", { class: "card" + (t.excluded ? " excluded" : ""), id: slug(t.name), "data-table": t.name, "aria-label": "table " + t.name }, head, table);
}

let tipCount = 0;

// PK and unique badges: a column that is a key only together with others says so.
function keyBadges(c) {
  const pk = c.primary_key_columns;
  return [
    !c.primary_key ? null : pk.length > 1
      ? el("span", { class: "badge pk", title: `primary key (${pk.join(", ")}): unique only together` }, `part of PK (${pk.join(", ")})`)
      : el("span", { class: "badge pk", title: "primary key" }, "PK"),
    c.unique_keys.map((u) => u.length > 1
      ? el("span", { class: "badge uq", title: `unique key (${u.join(", ")}): unique only together` }, `part of unique (${u.join(", ")})`)
      : el("span", { class: "badge uq", title: "unique key: no two rows share a value" }, "Unique")),
  ];
}

// Marks a column whose transformer differs from the saved file's.
function changedMark(c) {
  return c.changed ? [" ", el("span", { class: "changed-mark", title: "differs from the saved file" }, "changed")] : null;
}

// The personal-data class, red when the column is copied unchanged.
function personalBadge(c) {
  const p = c.personal;
  if (!p) return null;
  const open = p.protection === "unprotected";
  const title = `${p.class}, confidence ${p.confidence.toFixed(2)}` + (p.evidence.length ? "\n" + p.evidence.join("\n") : "");
  return el("span", { class: "pd" + (open ? " exposed" : ""), title }, open ? `${p.class} · unprotected` : p.class);
}

function renderColumn(t, c) {
  const keys = el("td", { class: "keys" },
    keyBadges(c),
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
        }, (fk.columns.length > 1 ? `part of Foreign Key (${fk.columns.join(", ")})` : "Foreign Key") + (fk.virtual ? " · virtual" : "")),
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
    cell = el("td", { class: "xf", "data-origin": "none" },
      el("span", { class: "none" + (exposed(c) ? " exposed" : "") }, "copied unchanged"), changedMark(c));
  } else if (xf.origin === "set") {
    cell = el("td", { class: "xf", "data-origin": "set" }, el("code", { title: "in full: " + xf.spec }, xf.written), " ",
      el("span", { class: "origin set" }, "set here"), changedMark(c));
  } else {
    const from = xf.inherited;
    cell = el("td", { class: "xf", "data-origin": "inherited" },
      el("code", { title: "in full: " + xf.spec }, xf.written), " ",
      el("span", { class: "origin inherited" }, "inherited"), changedMark(c),
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
  const personal = personalBadge(c);
  return el("tr", { "data-column": c.name, class: exposed(c) ? "exposed" : null },
    el("td", { class: "name" }, c.name, followers, personal ? el("span", { class: "pd-note" }, personal) : null),
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

// ------------------------------------------------------------ all columns

function gridRow(t, c) {
  const xf = c.transformer;
  let from;
  if (!xf) {
    from = el("span", { class: exposed(c) ? "none exposed" : "none" }, "copied unchanged");
  } else if (xf.origin === "set") {
    from = el("span", { class: "origin set" }, "set here");
  } else {
    const f = xf.inherited;
    from = [el("span", { class: "origin inherited" }, "inherited"), " from ",
      el("a", { href: "#" + slug(f.table), onclick: (e) => { e.preventDefault(); reveal(f.table, f.column); } }, `${f.table}.${f.column}`),
      ` via FK ${f.foreign_key}`];
  }
  return el("tr", {
    "data-table": t.name, "data-column": c.name,
    class: [exposed(c) ? "exposed" : "", t.excluded ? "excluded" : ""].join(" ").trim() || null,
  },
    el("td", { class: "g-schema" }, t.schema || "—"),
    el("td", { class: "g-table" }, t.table),
    el("td", { class: "g-column" }, c.name),
    el("td", { class: "g-type" }, c.type, c.nullable ? null : el("span", { class: "nn" }, "not null")),
    el("td", { class: "g-keys" }, keyBadges(c),
      c.foreign_keys.map((fk) => el("span", { class: "badge fk" + (fk.virtual ? " virtual" : ""), title: `FK ${fk.name}` },
        fk.columns.length > 1
          ? `part of FK (${fk.columns.join(", ")}) → ${fk.parent_table} (${fk.parent_columns.join(", ")})`
          : `FK → ${fk.parent_table}.${fk.parent_column}`))),
    el("td", { class: "g-personal" }, personalBadge(c)),
    el("td", { class: "g-xf xf" }, xf ? el("code", { title: "in full: " + xf.spec }, xf.written) : null),
    el("td", { class: "g-from" }, from, changedMark(c)),
    el("td", { class: "g-edit" }, el("button", {
      type: "button", class: "edit", "aria-label": `Edit the transformer of ${t.name}.${c.name}`,
      disabled: t.excluded || c.generated,
      onclick: () => openEditor(t, c),
    }, "Edit")));
}

const FILTERS = {
  exposed: (t, c) => exposed(c),
  transformed: (t, c) => transformed(c),
  fk: (t, c) => c.foreign_keys.length > 0,
  changed: (t, c) => c.changed,
};

function renderGrid() {
  const chip = $("filter-exposed");
  chip.disabled = !view.privacy;
  chip.title = view.privacy
    ? `personal data found in a sample of ${view.privacy.sample} rows per table, copied unchanged`
    : "privacy = \"off\" in the job: the source was not scanned for personal data";
  const rows = allColumns().map(({ t, c }) => gridRow(t, c));
  $("grid-rows").replaceChildren(...rows);
  // SQLite has no schemas: no column for them.
  $("grid").classList.toggle("no-schema", view.tables.every((t) => !t.schema));
  // How many columns each filter keeps, on its chip.
  const all = allColumns();
  for (const [name, keep] of Object.entries(FILTERS)) {
    const chip = document.querySelector(`.chip[data-filter="${name}"]`);
    let n = chip.querySelector(".n");
    if (!n) chip.append(" ", n = el("span", { class: "n" }));
    n.textContent = String(all.filter(({ t, c }) => keep(t, c)).length);
  }
}

function applyGridFilter() {
  const q = $("filter").value.trim().toLowerCase();
  const byName = new Map(view.tables.map((t) => [t.name, t]));
  let shown = 0;
  const rows = [...$("grid-rows").rows];
  for (const row of rows) {
    const t = byName.get(row.dataset.table);
    const c = t && t.columns.find((x) => x.name === row.dataset.column);
    const keep = !!c && (q === "" || t.name.toLowerCase().includes(q)) &&
      [...gridFilters].every((f) => FILTERS[f](t, c));
    row.hidden = !keep;
    if (keep) shown++;
  }
  $("grid-count").textContent = `${shown} of ${rows.length} columns`;
  $("grid-empty").hidden = shown > 0;
}

function toggleGridFilter(chip) {
  const name = chip.dataset.filter;
  if (gridFilters.has(name)) gridFilters.delete(name);
  else gridFilters.add(name);
  chip.setAttribute("aria-pressed", String(gridFilters.has(name)));
  applyGridFilter();
}

function reveal(table, column) {
  const inGrid = !$("grid-view").hidden;
  const card = document.getElementById(slug(table));
  if (!card) return;
  if (card.hidden) {
    $("filter").value = "";
    applyFilter();
  }
  const row = inGrid ? rowOf(table, column) : card.querySelector(`tr[data-column="${CSS.escape(column)}"]`) || card;
  if (inGrid && row && row.hidden) {
    // Filtered out of the grid: show every column again to show this one.
    gridFilters.clear();
    for (const chip of document.querySelectorAll(".chip[data-filter]")) chip.setAttribute("aria-pressed", "false");
    applyGridFilter();
  }
  if (!row) return;
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
  // A group none of whose tables match goes too, label and all.
  for (const group of document.querySelectorAll("#order li.group")) {
    group.hidden = ![...group.querySelectorAll("a")].some((a) => !a.hidden);
  }
  applyGridFilter();
}

// ---------------------------------------------------------------- editor

// Opens the editor of a column by its names (the editor's "Go to" buttons).
function openEditorOf(table, column) {
  const t = view.tables.find((x) => x.name === table);
  const c = t && t.columns.find((x) => x.name === column);
  if (!c) return;
  reveal(table, column);
  openEditor(t, c);
}

function openEditor(t, c) {
  editing = { table: t.name, column: c.name };
  $("editor-title").textContent = `Transformer of ${t.name}.${c.name}`;
  const xf = c.transformer;
  const own = xf && xf.origin === "set" ? xf : null;
  const ctx = [];
  if (c.personal) {
    ctx.push(`Personal data: ${c.personal.class}` +
      (c.personal.protection === "unprotected" ? ", copied unchanged." : ` (${c.personal.protection}).`));
  }
  if (c.referenced_by.length) {
    ctx.push(`Referenced by ${c.referenced_by.map((r) => `${r.table}.${r.column}`).join(", ")}: they inherit what you set here.`);
  }
  if (!ctx.length) ctx.push(`${c.type}, ${c.nullable ? "nullable" : "not null"}.`);
  $("editor-context").textContent = ctx.join(" ");

  // An FK column takes its parent key's transformer (that keeps the keys equal): the
  // editor says which, and offers to go there instead of kinds the planner refuses.
  // Only NULL (on a nullable column) may differ from the parent.
  const fkColumn = c.foreign_keys.length > 0;
  const inherits = $("editor-inherits");
  inherits.hidden = !fkColumn;
  if (fkColumn) {
    inherits.replaceChildren(
      ...c.foreign_keys.map((fk) => el("p", {},
        `${c.name} references ${fk.parent_table}.${fk.parent_column} (FK ${fk.name}) and takes its transformer, so the keys still match.`)),
      el("p", {}, "Now: ", !xf ? "copied unchanged."
        : [el("code", {}, xf.written), xf.origin === "set" ? ", set on this column." : `, inherited from ${xf.inherited.table}.${xf.inherited.column}.`]),
      el("p", {}, c.nullable
        ? "Any other transformer of its own would break that (only null may differ: it drops the reference); change the parent key instead: "
        : "A transformer of its own would break that; change the parent key instead: ",
        c.foreign_keys.map((fk) => el("button", {
        type: "button", class: "go", "data-parent": `${fk.parent_table}.${fk.parent_column}`,
        onclick: () => { $("editor").close(); openEditorOf(fk.parent_table, fk.parent_column); },
      }, `Go to ${fk.parent_table}.${fk.parent_column}`))));
  }
  const select = $("editor-kind");
  const allowed = fkColumn
    ? view.kinds.filter((k) => (k.name === "null" && c.nullable) || (own && k.name === own.written_kind))
    : null;
  if (allowed) {
    select.replaceChildren(el("option", { value: "" }, "— inherited —"),
      ...allowed.map((k) => el("option", { value: k.name }, k.name === "null" ? "null (the reference is dropped)" : k.name)));
  } else {
    select.replaceChildren(
      el("option", { value: "" }, "— choose a kind —"),
      el("optgroup", { label: "Deterministic (same input, same output)" },
        view.kinds.filter((k) => !k.name.startsWith("generate_")).map((k) => el("option", { value: k.name }, k.name))),
      el("optgroup", { label: "Random on every run (generate_*)" },
        view.kinds.filter((k) => k.name.startsWith("generate_")).map((k) => el("option", { value: k.name }, k.name))));
  }
  const offered = !allowed || allowed.length > 0;
  $("editor-kind-field").hidden = !offered;
  $("editor-options-field").hidden = !offered || !!allowed;
  $("editor-apply").hidden = !offered;
  $("editor-summary").hidden = !offered;
  // A personal column with nothing set starts on the scan's suggestion.
  const suggested = !own && !fkColumn && c.personal && c.personal.suggested_kind ? c.personal : null;
  select.value = own ? own.written_kind : suggested ? suggested.suggested_kind : "";
  $("editor-options").value = own ? own.written_options || "" : suggested ? suggested.suggested_options || "" : "";
  $("editor-remove").disabled = !own;
  showSummary();
  showEditorError("");
  $("editor").showModal();
  (offered ? select : inherits.querySelector("button.go") || $("editor-cancel")).focus();
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

// "tables", "grid" or "plan".
async function show(which) {
  for (const [tab, section, name] of [["show-mapping", "mapping-view", "tables"], ["show-grid", "grid-view", "grid"], ["show-plan", "plan-view", "plan"]]) {
    $(tab).setAttribute("aria-pressed", String(which === name));
    $(section).hidden = which !== name;
  }
  if (which !== "plan") return;
  const pre = $("plan");
  pre.textContent = "planning…";
  try {
    pre.textContent = (await api("GET", "/api/plan")).text;
  } catch (e) {
    pre.textContent = "No plan: " + e.message;
  }
}

// The page header's height, for what sticks below it (side bar, grid header).
function trackHeader() {
  const top = document.querySelector(".top");
  const set = () => document.documentElement.style.setProperty("--head", top.offsetHeight + "px");
  set();
  new ResizeObserver(set).observe(top);
}

function baseName(path) {
  return path.split(/[\\/]/).pop();
}

async function save() {
  if (view.error && !confirm("This job does not plan yet:\n\n" + view.error + "\n\nSave it anyway?")) return;
  try {
    const r = await api("POST", "/api/save", {});
    render(r.view);
    // File names only (the header names the job's path); both paths in the tooltip.
    setStatus(`Saved ${baseName(r.saved.path)} · the previous version is in ${baseName(r.saved.backup)}`, false);
    $("status").title = `Saved ${r.saved.path}\nPrevious version: ${r.saved.backup}`;
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
  trackHeader();
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
  $("show-plan").addEventListener("click", () => show("plan"));
  $("show-mapping").addEventListener("click", () => show("tables"));
  $("show-grid").addEventListener("click", () => show("grid"));
  for (const chip of document.querySelectorAll(".chip[data-filter]")) {
    chip.addEventListener("click", () => toggleGridFilter(chip));
  }
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
