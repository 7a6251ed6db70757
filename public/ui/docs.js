// A small OpenAPI 3.1 viewer that needs nothing but /openapi.json from this server.
const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  return node;
}

/** The schema with its $refs to components replaced (to a depth, for recursive schemas). */
function resolve(doc, schema, depth = 0) {
  if (!schema || typeof schema !== "object" || depth > 6) return schema;
  if (Array.isArray(schema)) return schema.map((s) => resolve(doc, s, depth + 1));
  if (typeof schema.$ref === "string") {
    const target = schema.$ref.replace(/^#\//, "").split("/").reduce((node, part) => node?.[part], doc);
    return resolve(doc, target, depth + 1);
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, resolve(doc, v, depth + 1)]));
}

function schemaBlock(doc, content) {
  const json = content?.["application/json"] ?? content?.["text/plain"];
  if (!json?.schema) return null;
  return el("pre", {}, JSON.stringify(resolve(doc, json.schema), null, 2));
}

function operation(doc, path, method, op) {
  const params = (op.parameters ?? []).map((p) => resolve(doc, p));
  return el("details", { class: "operation", "data-operation": `${method.toUpperCase()} ${path}` },
    el("summary", {}, el("span", { class: `method ${method}` }, method), el("span", { class: "path" }, path), el("span", { class: "summary" }, op.summary ?? "")),
    el("div", {},
      op.description ? el("p", {}, op.description) : null,
      params.length
        ? el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Parameter"), el("th", {}, "In"), el("th", {}, "Required"), el("th", {}, "Description"))),
            el("tbody", {}, params.map((p) => el("tr", {}, el("td", {}, p.name), el("td", {}, p.in), el("td", {}, p.required ? "yes" : "no"), el("td", {}, p.description ?? p.schema?.description ?? "")))))
        : null,
      op.requestBody ? [el("h4", {}, "Request body"), schemaBlock(doc, op.requestBody.content)] : null,
      el("h4", {}, "Responses"),
      el("ul", {}, Object.entries(op.responses ?? {}).map(([status, r]) => el("li", {}, el("strong", {}, status), " ", resolve(doc, r).description ?? ""))),
      op.responses?.["200"] ? schemaBlock(doc, resolve(doc, op.responses["200"]).content) : null));
}

async function main() {
  const doc = await (await fetch("/openapi.json")).json();
  $("intro").textContent = `${doc.info.title} ${doc.info.version}: ${doc.info.description ?? ""}`;
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      if (!["get", "put", "post", "delete", "patch", "head"].includes(method)) continue;
      const tag = op.tags?.[0] ?? "Other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operation(doc, path, method, op));
    }
  }
  $("operations").replaceChildren(...[...byTag].map(([tag, ops]) => el("section", {}, el("h2", {}, tag), ops)));
}

main().catch((error) => {
  $("intro").textContent = `Could not load /openapi.json: ${error.message}`;
});
