// Weir's dashboard: plain DOM, no framework, no network beyond this server. The key lives in
// sessionStorage (this tab only) and travels only as a bearer header; never in a URL.
const KEY_ITEM = "weir-key";
const REFRESH_MS = 5000;
const $ = (id) => document.getElementById(id);

let refreshTimer = null;
let selectedTopic = null;
let isAdmin = false;

/** Builds an element; children are nodes or text (always as text: nothing here is parsed as HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

class ApiFailure extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

/** Calls the API with the signed-in key. */
async function api(method, path, body) {
  const headers = { authorization: `Bearer ${sessionStorage.getItem(KEY_ITEM)}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const parsed = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiFailure(response.status, parsed);
  return parsed;
}

const enc = encodeURIComponent;

function age(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${seconds.toFixed(1)} s`;
  if (seconds < 5400) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

// ---- sign in ----

async function signIn(key) {
  sessionStorage.setItem(KEY_ITEM, key);
  try {
    await api("GET", "/v1/topics");
    isAdmin = true;
  } catch (error) {
    if (error.status === 401) {
      sessionStorage.removeItem(KEY_ITEM);
      $("sign-in-error").textContent = error.message;
      return;
    }
    // A key without admin can still look up messages of its topics.
    isAdmin = false;
  }
  $("sign-in").hidden = true;
  $("app").hidden = false;
  $("nav").hidden = false;
  $("keys-section").hidden = !isAdmin;
  await refresh();
  refreshTimer = setInterval(refresh, REFRESH_MS);
}

function signOut() {
  sessionStorage.removeItem(KEY_ITEM);
  clearInterval(refreshTimer);
  location.reload();
}

// ---- topics ----

async function refresh() {
  if (!isAdmin) {
    $("topics-error").textContent = "This key is not an admin key: the topic list needs admin. Message lookup works for your topics.";
    return;
  }
  try {
    const { topics } = await api("GET", "/v1/topics");
    const rows = await Promise.all(topics.map(topicRows));
    $("topics").tBodies[0].replaceChildren(...rows.flat());
    $("topics-error").textContent = "";
    $("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (selectedTopic) await showTopic(selectedTopic, false);
    await showKeys();
  } catch (error) {
    $("topics-error").textContent = error.message;
  }
}

async function topicRows(topic) {
  const stats = await api("GET", `/v1/topics/${enc(topic.name)}/stats`);
  const open = () => showTopic(topic.name, true);
  if (stats.subscriptions.length === 0) {
    return [
      el("tr", { class: "topic-row", "data-topic": topic.name, onclick: open },
        el("td", {}, topic.name), el("td", { class: "num" }, topic.partitions), el("td", {}, "(no subscription)"),
        ...Array.from({ length: 6 }, () => el("td", { class: "num" }, "—"))),
    ];
  }
  return Promise.all(
    stats.subscriptions.map(async (s) => {
      const dead = await api("GET", `/v1/topics/${enc(topic.name)}/subscriptions/${enc(s.name)}/dead-letters?max=1`);
      return el("tr", { class: "topic-row", "data-topic": topic.name, "data-subscription": s.name, onclick: open },
        el("td", {}, topic.name),
        el("td", { class: "num" }, topic.partitions),
        el("td", {}, s.name),
        el("td", { class: "num", "data-field": "ready" }, s.ready),
        el("td", { class: "num", "data-field": "in_flight" }, s.in_flight),
        el("td", { class: "num", "data-field": "delayed" }, s.delayed),
        el("td", { class: "num" }, age(s.oldest_unacked_age_seconds)),
        el("td", { class: "num", "data-field": "dead_letters" }, dead.total),
        el("td", {}, s.surge.state === "off" ? "off" : `${s.surge.state} (${s.surge.partitions})`));
    }),
  );
}

// ---- one topic: charts and dead letters ----

async function showTopic(name, scroll) {
  selectedTopic = name;
  $("topic-detail").hidden = false;
  $("detail-name").textContent = name;
  const [history, stats] = await Promise.all([
    api("GET", `/v1/topics/${enc(name)}/history?minutes=60`),
    api("GET", `/v1/topics/${enc(name)}/stats`),
  ]);
  const samples = history.samples.map((s) => ({ ...s, t: Date.parse(s.at) }));
  const rate = (field) =>
    samples.slice(1).map((s, i) => ({ t: s.t, v: Math.max(0, (s[field] - samples[i][field]) / Math.max(1, (s.t - samples[i].t) / 1000)) }));
  drawChart($("chart-produce"), rate("produced_total"));
  drawChart($("chart-ack"), rate("acked_total"));
  drawChart($("chart-backlog"), samples.map((s) => ({ t: s.t, v: s.backlog })));
  const blocks = await Promise.all(stats.subscriptions.map((s) => deadLetterBlock(name, s.name)));
  $("dead-letters").replaceChildren(...(blocks.length ? blocks : [el("p", {}, "No subscriptions.")]));
  if (scroll) $("topic-detail").scrollIntoView();
}

const SVG = "http://www.w3.org/2000/svg";
function svgEl(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** A line chart of points {t, v} over the last hour, hand-drawn into a 300×100 SVG. */
function drawChart(svg, points) {
  svg.replaceChildren();
  const now = Date.now();
  const from = now - 3600_000;
  const max = Math.max(1, ...points.map((p) => p.v));
  const x = (t) => 5 + ((t - from) / 3600_000) * 290;
  const y = (v) => 90 - (v / max) * 80;
  svg.append(svgEl("line", { x1: 5, y1: 90, x2: 295, y2: 90, stroke: "#ccd" }));
  const label = svgEl("text", { x: 6, y: 10 });
  label.textContent = max >= 10 ? Math.round(max) : max.toFixed(2);
  svg.append(label);
  if (points.length === 0) {
    const empty = svgEl("text", { x: 110, y: 55 });
    empty.textContent = "no samples yet";
    svg.append(empty);
    return;
  }
  svg.append(svgEl("polyline", { points: points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ") }));
}

async function deadLetterBlock(topic, subscription) {
  const page = await api("GET", `/v1/topics/${enc(topic)}/subscriptions/${enc(subscription)}/dead-letters?max=20`);
  const button = el("button", {
    type: "button",
    "data-redrive": subscription,
    onclick: async () => {
      button.disabled = true;
      try {
        const result = await api("POST", `/v1/topics/${enc(topic)}/subscriptions/${enc(subscription)}/redrive`, {});
        status.textContent = `moved ${result.moved}, missing ${result.missing}`;
      } catch (error) {
        status.textContent = error.message;
      }
      await refresh();
    },
  }, "Redrive all");
  button.disabled = page.total === 0;
  const status = el("span", { class: "note" });
  const rows = page.dead_letters.map((d) =>
    el("tr", {},
      el("td", {}, d.id),
      el("td", {}, d.reason ?? "—"),
      el("td", { class: "num" }, d.attempts ?? "—"),
      el("td", {}, d.dead_lettered_at ?? "—"),
      el("td", {}, el("code", {}, d.body_preview + (d.body_truncated ? "…" : "")))));
  return el("div", { class: "dead-letter-block", "data-subscription": subscription },
    el("h4", {}, `${subscription}: `, el("span", { class: "dead-letter-total" }, page.total), " dead letters ", button, " ", status),
    rows.length === 0
      ? el("p", { class: "note" }, "None.")
      : el("table", {}, el("thead", {}, el("tr", {}, ["Id", "Reason", "Attempts", "Dead-lettered at", "Body"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
}

// ---- message lookup ----

const BAD_EVENTS = new Set(["nacked", "lease_expired", "dead_lettered", "expired", "cancelled", "rolled_back"]);

async function lookUp(event) {
  event.preventDefault();
  $("lookup-error").textContent = "";
  $("lookup-result").replaceChildren();
  const topic = $("lookup-topic").value.trim();
  const id = $("lookup-id").value.trim();
  const key = $("lookup-key").value;
  try {
    const query = key ? `?key=${enc(key)}` : "";
    const found = await api("GET", `/v1/topics/${enc(topic)}/messages/${enc(id)}${query}`);
    const m = found.message;
    $("lookup-result").replaceChildren(
      el("p", {}, "State ", el("span", { class: "state", id: "message-state" }, m.state),
        ` · partition ${m.partition}, ${m.offset === null ? "no offset (not in the log)" : `offset ${m.offset}`}`,
        m.offset === null ? ` · prepared ${m.produced_at}` : ` · produced ${m.produced_at}`,
        m.transaction_id ? ` · transaction ${m.transaction_id}` : ""),
      el("ul", {}, found.subscriptions.map((s) => el("li", {}, `${s.name}: `, el("span", { class: "state" }, s.state), ` after ${s.attempts} attempt(s)`))),
      el("ol", { class: "timeline", id: "trace" },
        found.trace.map((e) =>
          el("li", { class: BAD_EVENTS.has(e.event) ? "bad" : "" },
            el("span", { class: "event" }, e.event),
            e.subscription ? ` · ${e.subscription}` : "",
            e.attempt !== undefined ? ` · attempt ${e.attempt}` : "",
            e.detail ? ` · ${Object.entries(e.detail).map(([k, v]) => `${k}: ${v}`).join(", ")}` : "",
            el("span", { class: "when" }, e.at ?? "(time not kept)")))),
      el("pre", {}, JSON.stringify(m.body, null, 2)),
    );
  } catch (error) {
    $("lookup-error").textContent = error.message;
  }
}

// ---- keys ----

async function showKeys() {
  if (!isAdmin) return;
  const { keys } = await api("GET", "/v1/keys");
  $("keys").tBodies[0].replaceChildren(
    ...keys.map((k) => el("tr", {}, el("td", {}, k.id), el("td", {}, k.name), el("td", {}, k.scopes.join(" ")), el("td", {}, k.created_at))),
  );
}

// ---- start ----

$("sign-in-form").addEventListener("submit", (event) => {
  event.preventDefault();
  $("sign-in-error").textContent = "";
  void signIn($("key").value.trim());
});
$("sign-out").addEventListener("click", signOut);
$("lookup-form").addEventListener("submit", lookUp);
const saved = sessionStorage.getItem(KEY_ITEM);
if (saved) void signIn(saved);
