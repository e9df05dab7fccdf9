// The explorer at /_ui: the collections of GET /, a listing of one through a filter builder in
// the REST grammar (order, select with embedded relations, keyset pages by Link: next), items
// created, edited and deleted through the API, a live view of the current filter (a live list of
// /_client/feedbase.js) with rows marked as they enter, change and leave, the raw feed, and a
// sign-in with an API key: every request carries it, so the page sees what the key may see.
// docs/UI.md is its manual.

import { Feedbase, FeedbaseError } from "/_client/feedbase.js";
import { loadSchema, listingURL, operators, textOf } from "./schema.js";
import { openEditor } from "./editor.js";

const $ = (selector) => document.querySelector(selector);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};
/** How long a row stays marked after it entered, changed or left the live view. */
const MARK_MS = 2500;

const state = {
  db: null, key: sessionStorage.getItem("feedbase-key") ?? "", schema: null, collection: null,
  filters: [], rows: [], asked: 0, current: null, next: null, pages: [], seq: null, live: null, marks: new Map(), left: [], feed: null,
};

function connect(key) {
  state.db?.close();
  state.db = new Feedbase(location.origin, { token: key || undefined });
}

async function start() {
  connect(state.key);
  showWho();
  try {
    state.schema = await loadSchema(state.db);
  } catch (error) {
    return status(error);
  }
  $("#asyncapi").hidden = !state.schema.index.asyncapi;
  $("#show-feed").hidden = !state.schema.index.feed;
  $("#collections").replaceChildren(...state.schema.collections.map((collection) => {
    const button = el("button", { type: "button", textContent: collection.name });
    button.dataset.collection = collection.name;
    button.onclick = () => pick(collection);
    return el("li", {}, button);
  }));
  const wanted = new URLSearchParams(location.hash.slice(1)).get("c");
  const first = state.schema.collections.find((c) => c.name === wanted);
  if (first) pick(first);
}

function pick(collection) {
  state.collection = collection;
  state.filters = [];
  for (const button of document.querySelectorAll("#collections button")) button.classList.toggle("current", button.dataset.collection === collection.name);
  $("#welcome").hidden = true;
  $("#browse").hidden = false;
  $("#title").textContent = collection.name;
  $("#order-column").replaceChildren(new Option("(key)", ""), ...collection.columns.map((c) => new Option(c.name, c.name)));
  $("#order-direction").value = "asc";
  $("#select").value = "";
  $("#select").placeholder = collection.relations.length ? `*,${collection.relations[0].name}(*)` : "*";
  $("#live").checked = false;
  renderFilters();
  history.replaceState(null, "", "#c=" + encodeURIComponent(collection.name));
  apply();
}

function renderFilters() {
  $("#filters").replaceChildren(...state.filters.map((filter, index) => {
    const column = el("select", { className: "filter-column", ariaLabel: "column" },
      ...state.collection.columns.map((c) => new Option(c.name, c.name)));
    column.value = filter.column;
    column.onchange = () => { filter.column = column.value; showURL(); };
    const not = el("input", { type: "checkbox", className: "filter-not", checked: filter.not });
    not.onchange = () => { filter.not = not.checked; showURL(); };
    const op = el("select", { className: "filter-op", ariaLabel: "operator" }, ...operators.map((o) => new Option(o, o)));
    op.value = filter.op;
    op.onchange = () => { filter.op = op.value; showURL(); };
    const value = el("input", { className: "filter-value", value: filter.value, placeholder: "value", ariaLabel: "value" });
    value.oninput = () => { filter.value = value.value; showURL(); };
    const remove = el("button", { type: "button", className: "filter-remove", textContent: "×", title: "remove" });
    remove.onclick = () => { state.filters.splice(index, 1); renderFilters(); };
    return el("div", { className: "row filter" }, column, el("label", {}, not, " not"), op, value, remove);
  }));
  showURL();
}

function query(live = false) {
  return listingURL(state.collection, {
    filters: state.filters,
    order: { column: $("#order-column").value, direction: $("#order-direction").value },
    select: $("#select").value.trim(),
    limit: Number($("#limit").value) || undefined,
  }, { live });
}

function showURL() {
  if (state.collection) $("#url").textContent = query($("#live").checked);
}

/** Reads the first page of the current query, or starts the live view of it. */
async function apply() {
  showURL();
  stopLive();
  state.pages = [];
  if ($("#live").checked) return startLive();
  await load(query());
}

async function load(url) {
  status("loading…");
  // Only the last query asked for is shown, however its answers arrive.
  const asked = ++state.asked;
  try {
    const { headers, body } = await state.db.request("GET", url);
    if (asked !== state.asked) return;
    state.rows = body;
    state.seq = Number(headers.get("X-Change-Seq") ?? state.seq ?? 0);
    state.next = /<([^>]+)>;\s*rel="next"/.exec(headers.get("Link") ?? "")?.[1] ?? null;
    state.current = url;
    render();
    status(`${body.length} item${body.length === 1 ? "" : "s"}` + (state.pages.length ? ` (page ${state.pages.length + 1})` : "") + (state.next ? ", more on the next page" : ""));
  } catch (error) {
    if (asked !== state.asked) return;
    state.rows = [];
    state.next = null;
    render();
    status(error);
  }
}

function stopLive() {
  state.asked++;
  state.live?.close();
  state.live = null;
  state.marks.clear();
  state.left = [];
}

function startLive() {
  status("live: reading…");
  const list = state.db.live(query(true));
  state.live = list;
  let before = null;
  list.onchange = (items) => {
    if (state.live !== list) return;
    const key = state.collection.key;
    const now = Date.now();
    if (before) {
      const seen = new Map(items.map((item) => [String(item[key]), item]));
      for (const [id, item] of before) {
        if (!seen.has(id)) state.left.push({ item, index: [...before.keys()].indexOf(id), until: now + MARK_MS });
      }
      for (const [id, item] of seen) {
        if (!before.has(id)) state.marks.set(id, { mark: "entered", until: now + MARK_MS });
        else if (JSON.stringify(before.get(id)) !== JSON.stringify(item)) state.marks.set(id, { mark: "changed", until: now + MARK_MS });
      }
      state.left = state.left.filter((row) => !seen.has(String(row.item[key])));
      setTimeout(() => { if (state.live === list) render(); }, MARK_MS + 50);
    }
    before = new Map(items.map((item) => [String(item[key]), item]));
    state.rows = items;
    state.next = null;
    render();
    status(`live: ${items.length} item${items.length === 1 ? "" : "s"}, following every write`);
  };
  list.onerror = (error) => { if (state.live === list) status(error); };
}

function render() {
  const collection = state.collection;
  const key = collection.key;
  const now = Date.now();
  for (const [id, mark] of state.marks) if (mark.until <= now) state.marks.delete(id);
  state.left = state.left.filter((row) => row.until > now);
  const rows = state.rows.map((item) => ({ item, mark: state.marks.get(String(item[key]))?.mark ?? "" }));
  for (const { item, index } of state.left) rows.splice(Math.min(index, rows.length), 0, { item, mark: "left" });
  const names = [];
  for (const { item } of rows) for (const name of Object.keys(item)) if (!names.includes(name)) names.push(name);
  if (names.length === 0) names.push(...collection.columns.map((c) => c.name));
  $("#rows thead").replaceChildren(el("tr", {}, ...names.map((name) => el("th", { textContent: name })), el("th")));
  $("#rows tbody").replaceChildren(...rows.map(({ item, mark }) => {
    const id = item[key];
    const tr = el("tr", { className: mark }, ...names.map((name) => {
      const value = item[name];
      const text = value === null || value === undefined ? "null" : textOf(value);
      return el("td", { textContent: text, title: text, className: value === null ? "null" : "" });
    }));
    tr.dataset.id = String(id);
    if (mark !== "left") {
      const edit = el("button", { type: "button", className: "edit", textContent: "Edit" });
      edit.onclick = () => editItem(id);
      const remove = el("button", { type: "button", className: "delete", textContent: "Delete" });
      remove.onclick = () => deleteItem(id, remove);
      tr.append(el("td", { className: "actions" }, edit, " ", remove));
    } else {
      tr.append(el("td"));
    }
    return tr;
  }));
  $("#pages").hidden = state.live !== null;
  $("#next").disabled = !state.next;
  $("#first").disabled = state.pages.length === 0;
}

async function editItem(id) {
  const collection = state.collection;
  try {
    const { headers, body } = await state.db.request("GET", `${collection.url}/${encodeURIComponent(id)}`);
    openEditor(state.db, collection, body, headers.get("ETag") ?? undefined, () => refresh(`saved ${collection.name}/${id}`));
  } catch (error) {
    status(error);
  }
}

/** A first click asks, a second deletes: no dialog that blocks the page. */
async function deleteItem(id, button) {
  if (!button.classList.contains("confirm")) {
    button.classList.add("confirm");
    button.textContent = "Really delete?";
    return;
  }
  try {
    await state.db.delete(state.collection.name, id);
    refresh(`deleted ${state.collection.name}/${id}`);
  } catch (error) {
    status(error);
  }
}

/** After a write of the page's own: the live view shows it by itself; a page is read again. */
async function refresh(message) {
  if (!state.live) await load(state.current ?? query());
  status(message);
}

function status(what) {
  const line = $("#status");
  if (what instanceof FeedbaseError || what instanceof Error) {
    const signIn = what.status === 401 || what.status === 403 ? " — sign in with an API key that may read this" : "";
    line.textContent = (what.status ? what.status + " " : "") + what.message + signIn;
    line.className = "error";
  } else {
    line.textContent = what;
    line.className = "";
  }
}

function showWho() {
  $("#who").textContent = state.key ? `key ${state.key.slice(0, 8)}…` : "anonymous";
  $("#signout").hidden = !state.key;
  $("#key").value = "";
}

async function signIn(key) {
  const trial = new Feedbase(location.origin, { token: key });
  try {
    await trial.request("GET", "/");   // an unknown, revoked or expired key is 401 on any route
  } catch (error) {
    return status(error);
  }
  trial.close();
  state.key = key;
  if (key) sessionStorage.setItem("feedbase-key", key); else sessionStorage.removeItem("feedbase-key");
  stopLive();
  closeFeed();
  connect(key);
  showWho();
  if (state.collection) apply(); else status(key ? "signed in" : "signed out");
}

function openFeed() {
  closeFeed();
  const url = new URL("/_feed", location.origin);
  if (state.seq !== null) url.searchParams.set("since", String(state.seq));
  if (state.key) url.searchParams.set("access_token", state.key);
  const source = new EventSource(url);
  state.feed = source;
  const events = $("#events");
  events.textContent = "";
  $("#feed").hidden = false;
  $("#feed-status").textContent = "connecting…";
  source.onopen = () => { $("#feed-status").textContent = "following /_feed"; };
  source.addEventListener("change", (event) => {
    events.prepend(document.createTextNode(event.data + "\n"));
    while (events.childNodes.length > 200) events.lastChild.remove();
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) $("#feed-status").textContent = "refused: the whole feed needs a key that may read every row";
    else $("#feed-status").textContent = "reconnecting…";
  };
}

function closeFeed() {
  state.feed?.close();
  state.feed = null;
  $("#feed").hidden = true;
}

$("#query").onsubmit = (event) => { event.preventDefault(); apply(); };
$("#add-filter").onclick = () => {
  state.filters.push({ column: state.collection.columns[0]?.name ?? "", op: "eq", not: false, value: "" });
  renderFilters();
  document.querySelector("#filters .filter:last-child .filter-value")?.focus();
};
for (const id of ["#order-column", "#order-direction", "#select", "#limit"]) $(id).addEventListener("input", showURL);
$("#live").onchange = apply;
$("#new").onclick = () => openEditor(state.db, state.collection, undefined, undefined, (item) => refresh(`created ${state.collection.name}/${item[state.collection.key]}`));
$("#next").onclick = () => { state.pages.push(state.current); load(state.next); };
$("#first").onclick = () => { state.pages = []; load(query()); };
$("#signin").onsubmit = (event) => { event.preventDefault(); signIn($("#key").value.trim()); };
$("#signout").onclick = () => signIn("");
$("#show-feed").onclick = openFeed;
$("#hide-feed").onclick = closeFeed;
start();
