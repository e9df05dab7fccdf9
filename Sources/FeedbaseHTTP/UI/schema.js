// The explorer's picture of the server: each collection with its columns, relations and the
// fields a create or a patch takes, read from the index (GET /) and the OpenAPI document, and the
// listing URL the filter builder's rows make, in the REST grammar (docs/API.md, "Listing").

/** @returns {Promise<{index: object, collections: object[]}>} */
export async function loadSchema(db) {
  const [index, doc] = await Promise.all([db.request("GET", "/"), db.request("GET", "/openapi.json")]);
  return { index: index.body, collections: index.body.collections.map((c) => describe(c, doc.body)) };
}

function describe(collection, doc) {
  const schemas = doc.components?.schemas ?? {};
  // The collection's component names (`Task`, `TaskCreate`, ...) as its operations refer to them.
  const text = JSON.stringify(doc.paths?.[collection.url] ?? {});
  const base = /#\/components\/schemas\/([A-Za-z0-9_.-]+)ListItem"/.exec(text)?.[1];
  const listItem = schemas[base + "ListItem"]?.properties ?? {};
  const columns = [], relations = [];
  for (const [name, property] of Object.entries(listItem)) {
    const ref = property.oneOf?.[0]?.$ref ?? (property.type === "array" ? property.items?.$ref : undefined);
    if (ref?.endsWith("ListItem")) relations.push({ name, toMany: property.type === "array" });
    else columns.push({ name, ...kind(property) });
  }
  const fields = (schema) => Object.entries(schema?.properties ?? {})
    .map(([name, property]) => ({ name, ...kind(property), required: (schema.required ?? []).includes(name), description: property.description ?? "" }));
  return {
    name: collection.name, url: collection.url, key: collection.key, columns, relations,
    create: fields(schemas[base + "Create"]), patch: fields(schemas[base + "Patch"]),
  };
}

/** A column's kind for the forms: boolean, integer, number, json or string (dates, times, base64). */
function kind(property) {
  const types = Array.isArray(property.type) ? property.type : property.type ? [property.type] : [];
  const type = types.find((t) => t !== "null");
  const nullable = types.includes("null") || !property.type;
  if (!type) return { kind: "json", nullable };
  if (type === "boolean" || type === "integer" || type === "number") return { kind: type, nullable };
  return { kind: "string", format: property.format ?? (property.contentEncoding ? "base64" : undefined), nullable };
}

export const operators = ["eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is"];

/** One filter row as a parameter: [column, "[not.]op.value"]; `in` takes "1,2" or "(1,2)". */
export function condition({ column, op, not, value }) {
  let operand = value;
  if (op === "in" && !/^\(.*\)$/.test(value.trim())) operand = "(" + value + ")";
  return [column, (not ? "not." : "") + op + "." + operand];
}

/** The listing URL of a query: filters, order, select, limit. */
export function listingURL(collection, { filters, order, select, limit }, { live = false } = {}) {
  const params = new URLSearchParams();
  for (const filter of filters) if (filter.column && filter.op) params.append(...condition(filter));
  // "(key)" is the listing's own order, the key ascending; descending names the key.
  const column = order.column || (order.direction === "desc" ? collection.key : "");
  if (column) params.set("order", column + "." + order.direction);
  // A band's items are single rows: a live view follows the rows without their embeds.
  if (select && !(live && select.includes("("))) params.set("select", select);
  if (limit && !live) params.set("limit", String(limit));
  const query = params.toString();
  return collection.url + (query ? "?" + query : "");
}

/** A value as a form shows it. */
export function textOf(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** A form's text as the JSON value to send; a number or JSON that does not parse goes as the
 *  text it is, for the server to say what is wrong with it (at its pointer). */
export function valueOf(field, text) {
  if (text === "") return null;
  switch (field.kind) {
    case "boolean": return text === "true" ? true : text === "false" ? false : text;
    case "integer": case "number": return /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text.trim()) ? Number(text) : text;
    case "json": try { return JSON.parse(text); } catch { return text; }
    default: return text;
  }
}
