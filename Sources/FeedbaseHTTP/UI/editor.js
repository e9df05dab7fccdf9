// The explorer's item form: a create (the collection's Create schema) or an edit (its Patch
// schema, sent as a JSON Merge Patch of the fields changed, with the item's ETag), and each
// validation error of the answer shown at its field by the problem's JSON pointer.

import { FeedbaseError } from "/_client/feedbase.js";
import { textOf, valueOf } from "./schema.js";

const $ = (selector) => document.querySelector(selector);

/** Opens the form; `item` (with its `etag`) for an edit, undefined for a create. Resolves after a save. */
export function openEditor(db, collection, item, etag, saved) {
  const editing = item !== undefined;
  const fields = editing ? collection.patch : collection.create;
  $("#editor-title").textContent = (editing ? `Edit ${collection.name}/${item[collection.key]}` : `New item of ${collection.name}`);
  $("#form-error").textContent = "";
  const initial = new Map();
  $("#fields").replaceChildren(...fields.map((field) => {
    const row = document.createElement("div");
    row.className = "field";
    row.dataset.field = field.name;
    const label = document.createElement("label");
    label.textContent = field.name + (field.required ? " *" : "");
    label.htmlFor = "field-" + field.name;
    let input;
    if (field.kind === "boolean") {
      input = document.createElement("select");
      for (const value of ["", "true", "false"]) input.append(new Option(value === "" ? "(default)" : value, value));
    } else if (field.kind === "json") {
      input = document.createElement("textarea");
      input.rows = 2;
    } else {
      input = document.createElement("input");
    }
    input.id = "field-" + field.name;
    input.name = field.name;
    const text = editing ? textOf(item[field.name]) : "";
    input.value = text;
    initial.set(field.name, text);
    // The column's type as the placeholder, its whole description on hover: a compact form.
    input.placeholder = field.description.split(/[.(,;]/)[0].trim();
    input.title = field.description;
    const error = Object.assign(document.createElement("span"), { className: "field-error" });
    row.append(label, input, error);
    return row;
  }));
  $("#editor").hidden = false;
  $("#fields input, #fields select, #fields textarea")?.focus();

  const form = $("#item-form");
  form.onsubmit = async (event) => {
    event.preventDefault();
    const body = {};
    for (const field of fields) {
      const text = form.elements[field.name].value;
      // A create leaves out what is empty (the column's default); an edit sends what changed.
      if (editing ? text === initial.get(field.name) : text === "") continue;
      body[field.name] = valueOf(field, text);
    }
    showErrors(null);
    try {
      const result = editing
        ? await db.update(collection.name, item[collection.key], body, { ifMatch: etag })
        : await db.create(collection.name, body);
      closeEditor();
      saved(result);
    } catch (error) {
      showErrors(error);
    }
  };
  $("#cancel").onclick = closeEditor;
}

function closeEditor() {
  $("#editor").hidden = true;
}

/** Each `errors[]` entry at the field its pointer names; the rest (and the detail) above. */
function showErrors(error) {
  for (const row of document.querySelectorAll("#fields .field")) {
    row.classList.remove("invalid");
    row.querySelector(".field-error").textContent = "";
  }
  $("#form-error").textContent = "";
  if (!error) return;
  if (!(error instanceof FeedbaseError)) return void ($("#form-error").textContent = String(error));
  const unplaced = [];
  for (const entry of error.problem.errors ?? []) {
    const name = (entry.pointer ?? "").split("/")[1]?.replace(/~1/g, "/").replace(/~0/g, "~");
    const row = name !== undefined ? [...document.querySelectorAll("#fields .field")].find((r) => r.dataset.field === name) : undefined;
    if (!row) { unplaced.push((entry.pointer ?? entry.parameter ?? "") + ": " + entry.detail); continue; }
    row.classList.add("invalid");
    const span = row.querySelector(".field-error");
    span.textContent = (span.textContent ? span.textContent + "; " : "") + entry.detail;
  }
  const status = error.status ? error.status + " " : "";
  const detail = error.status === 412 ? "the item changed since this form was opened: cancel and edit it again" : error.message;
  $("#form-error").textContent = status + detail + (unplaced.length ? " — " + unplaced.join("; ") : "");
}
