// `npm run bench:profile`: where workerd's CPU goes under the competing-consumers workload of
// issue 19 (bench/cases/competing.mjs: 8 consumers, 4 partitions, single-message produce
// paced). It starts Weir as the bench does, connects to wrangler dev's inspector (the Chrome
// DevTools protocol of the isolate that runs the Worker and every Durable Object), records a
// sampling CPU profile during one run, and prints:
//   - the JavaScript time per message beside workerd's whole CPU time per message (/proc): the
//     difference is the runtime's own work (the local proxy, HTTP, RPC plumbing, SQLite's C);
//   - the inclusive time per message of each cost the issue names (a sample counts for a cost
//     when any frame of its stack belongs to it), and self time by module and by function.
// The profile itself goes to bench/results/*.cpuprofile (open it in Chrome DevTools).
//   npm run bench:profile -- [--streams] [--rate N] [--seconds N] [--single] [--batches [--drain [--carry]]]   (node --experimental-websocket bench/profile.mjs)
// With --batches (issue 13's throughput): batched produce instead, 100 messages with ids a
// request, 8 in flight, 1 partition; with --batches --drain, receive + ack of batches of 100
// at concurrency 8 (the bench's "1 subscription, 1 partition" case); with --carry, each batch is
// acked with the next receive instead (the bench's "each batch acked with the next receive"). With --single (issue 19's
// "single produce, 64 in flight"): one message a request, 64 in flight, 4 partitions.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { client } from "./client.mjs";
import { payload } from "./config.mjs";
import { oneRun } from "./cases/competing.mjs";
import { startWeir } from "./servers.mjs";
import { workerdCpuMs } from "../scripts/local-server.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const how = args.includes("--streams") ? "stream" : "longPoll";
const rate = option("--rate", 200);
const seconds = option("--seconds", 10);
/** --batches: "produce" or "drain" (see above); null: the competing-consumers workload. */
const batches = args.includes("--single") ? "single" : args.includes("--batches") ? (args.includes("--drain") ? "drain" : "produce") : null;
/** --carry: a drain acks each batch with its next receive, one request a batch. */
const carry = args.includes("--carry");
const SINGLE_MESSAGES = 4_000;
const SINGLE_IN_FLIGHT = 64;
const BATCH_MESSAGES = 20_000;
/** Sampling interval of the profiler, µs. */
const INTERVAL_US = 1000;
const TOKEN = "bench-admin-token";

if (typeof WebSocket !== "function") {
  console.error("run with node --experimental-websocket (Node 20) for the inspector's WebSocket");
  process.exit(2);
}

/** One inspector session: send(method, params) resolves with the result. */
async function inspect(url) {
  // The inspector proxy of wrangler dev wants an Origin on this host (undici's WebSocket takes headers).
  const socket = new WebSocket(url, { headers: { origin: "http://127.0.0.1" } });
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let next = 1;
  const pending = new Map();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(`${waiter.method}: ${message.error.message}`));
    else waiter.resolve(message.result);
  });
  return {
    send: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject, method });
        socket.send(JSON.stringify({ id, method, params }));
      }),
    close: () => socket.close(),
  };
}

/**
 * The bundle's modules by line: wrangler (esbuild) writes `// src/http/app.ts` or
 * `// node_modules/zod/v4/core/core.js` above each module it bundles. `sources` maps a
 * script id to its text (read from the inspector).
 */
function moduleIndex(sources) {
  const starts = new Map();
  for (const [scriptId, text] of sources) {
    const list = [];
    text.split("\n").forEach((l, i) => {
      const m = /^\/\/ ((?:src|node_modules|\.\.\/)[^\s]*\.(?:ts|js|mjs|cjs))$/.exec(l);
      if (m) list.push([i, m[1].replace(/^.*node_modules\//, "node_modules/")]);
    });
    starts.set(scriptId, list);
  }
  return (scriptId, url, line) => {
    if (!url) return null;
    let found = null;
    for (const [start, name] of starts.get(scriptId) ?? []) {
      if (start > line) break;
      found = name;
    }
    return found ?? url;
  };
}

/** The costs the issue names, as tests on one frame (its module and function). */
const COSTS = [
  ["zod validation (node_modules/zod, @hono/zod-openapi's validator)", (f) => /node_modules\/(zod|@hono\/zod)/.test(f.module ?? "")],
  ["Hono routing and middleware (node_modules/hono)", (f) => /node_modules\/hono\//.test(f.module ?? "")],
  ["JSON parse / stringify (native)", (f) => !f.url && /^(parse|stringify)$/.test(f.name)],
  ["auth: key check and admin token digest (src/http/auth.ts)", (f) => f.module === "src/http/auth.ts"],
  ["catalog lookups and cache (src/catalog/)", (f) => /^src\/catalog\//.test(f.module ?? "")],
  ["receipt signing and verifying (src/shared/receipt.ts, signing.ts)", (f) => /^src\/shared\/(receipt|signing)\.ts$/.test(f.module ?? "")],
  ["crypto.subtle (native: HMAC, SHA-256)", (f) => !f.url && /^(sign|verify|digest|importKey|timingSafeEqual)$/.test(f.name)],
  ["routing: object calls made by the Worker (src/routing/)", (f) => /^src\/routing\//.test(f.module ?? "")],
  ["partition object (src/partition/)", (f) => /^src\/partition\//.test(f.module ?? "")],
  ["  of which SQL (SqlStorage exec, cursor reads; native)", (f) => !f.url && /^(exec|toArray|one|next|raw|transactionSync)$/.test(f.name)],
  ["doorbell object (src/doorbell/)", (f) => /^src\/doorbell\//.test(f.module ?? "")],
  ["http handlers and rendering (src/http/, without auth)", (f) => /^src\/http\//.test(f.module ?? "") && f.module !== "src/http/auth.ts"],
  ["garbage collector", (f) => f.name === "(garbage collector)"],
];

/**
 * Where each sample was, one place each (the first that matches, in this order): in a Durable
 * Object, in a Worker request's handler, or elsewhere (the app's middleware, the runtime).
 */
const PLACES = [
  ["partition object: append (produce)", (fs) => fs.some((f) => f.module === "src/partition/partition.ts" && f.name === "append")],
  ["partition object: lease", (fs) => fs.some((f) => f.module === "src/partition/partition.ts" && f.name === "lease")],
  ["partition object: ack", (fs) => fs.some((f) => f.module === "src/partition/partition.ts" && f.name === "ack")],
  ["partition object: other", (fs) => fs.some((f) => /^src\/partition\//.test(f.module ?? ""))],
  ["doorbell object", (fs) => fs.some((f) => /^src\/doorbell\//.test(f.module ?? ""))],
  ["Worker: produce handler (validation done, append call, answer)", (fs) => fs.some((f) => f.module === "src/http/messages.ts")],
  ["Worker: receive handler (ack call, doorbell, lease, receipts, answer)", (fs) => fs.some((f) => /^src\/(http\/(consume|deliveries|stream)|routing\/(receive|settle))\.ts$/.test(f.module ?? ""))],
  ["Worker: auth middleware", (fs) => fs.some((f) => f.module === "src/http/auth.ts")],
  ["Worker: zod validation", (fs) => fs.some((f) => /node_modules\/(zod|@hono\/zod)/.test(f.module ?? ""))],
  ["Worker: Hono and the other middleware", (fs) => fs.some((f) => /node_modules\/hono\/|^src\/http\//.test(f.module ?? ""))],
  ["runtime, outside any JavaScript of Weir ((program), GC, internals)", () => true],
];

function summarize(profile, messages, moduleOf) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frame = (n) => ({
    name: n.callFrame.functionName || "(anonymous)",
    url: n.callFrame.url,
    module: moduleOf(n.callFrame.scriptId, n.callFrame.url, n.callFrame.lineNumber),
  });
  const frames = new Map(profile.nodes.map((n) => [n.id, frame(n)]));
  const selfUs = new Map();
  const costUs = new Array(COSTS.length).fill(0);
  const selfByModule = new Map();
  const selfByFunction = new Map();
  const placeUs = new Array(PLACES.length).fill(0);
  let totalUs = 0;
  let idleUs = 0;
  // Each sample weighs the same: under load the sampler falls behind and its time deltas
  // swallow the gaps (one frame got seconds), so counts are the honest measure.
  profile.samples.forEach((id) => {
    const dt = 1;
    const f = frames.get(id);
    if (f.name === "(idle)") {
      idleUs += dt;
      return;
    }
    totalUs += dt;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    const moduleKey = f.module ?? (f.url ? f.url : `(native) ${f.name}`);
    selfByModule.set(moduleKey, (selfByModule.get(moduleKey) ?? 0) + dt);
    const fnKey = `${f.name}  ${f.module ?? "(native)"}`;
    selfByFunction.set(fnKey, (selfByFunction.get(fnKey) ?? 0) + dt);
    const hit = new Array(COSTS.length).fill(false);
    const stack = [];
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const fr = frames.get(n);
      stack.push(fr);
      COSTS.forEach(([, test], k) => {
        if (!hit[k] && test(fr)) hit[k] = true;
      });
    }
    hit.forEach((h, k) => h && (costUs[k] += dt));
    placeUs[PLACES.findIndex(([, test]) => test(stack))] += dt;
  });
  void nodes;
  const top = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
  return { totalUs, idleUs, costUs, placeUs, top, selfByModule, selfByFunction };
}

const root = fileURLToPath(new URL("..", import.meta.url));
console.error(batches ? `profile: starting Weir; then batches (${batches})` : `profile: starting Weir; then 8 ${how === "stream" ? "streams" : "long polls"}, ${rate} msg/s, ${seconds} s`);
const weir = await startWeir(TOKEN);
try {
  const targets = await (await fetch(`http://127.0.0.1:${weir.inspectorPort}/json`)).json();
  if (targets.length === 0) throw new Error("the inspector lists no target");
  const api = client(weir.url, TOKEN);
  const topic = `profile-${Date.now().toString(36)}`;
  await api.createTopic(topic, batches && batches !== "single" ? 1 : 4);
  await api.createSubscription(topic, "s");
  let n = 0;
  const produceBatches = async (count) => {
    for (let k = 0; k < count / 800; k++) {
      await Promise.all(Array.from({ length: 8 }, () => api.produce(topic, Array.from({ length: 100 }, () => ({ id: `m-${n++}`, body: payload })))));
    }
  };
  const produceSingles = async (count) => {
    let sent = 0;
    await Promise.all(
      Array.from({ length: SINGLE_IN_FLIGHT }, async () => {
        while (sent < count) {
          sent++;
          await api.produce(topic, [{ body: payload }]);
        }
      }),
    );
  };
  const drainAll = async () => {
    let empty = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        let toAck = [];
        while (empty < 16) {
          const { messages } = await api.receive(topic, "s", { max_messages: 100, ...(toAck.length > 0 ? { ack: toAck } : {}) });
          toAck = [];
          if (messages.length === 0) empty++;
          else if (carry) toAck = messages.map((m) => m.receipt);
          else await api.ack(topic, "s", messages.map((m) => m.receipt));
        }
      }),
    );
  };
  // A warm-up run, not profiled: objects created, code compiled.
  if (batches === "single") await produceSingles(500);
  else if (batches) {
    await produceBatches(4_000);
    await drainAll();
    if (batches === "drain") await produceBatches(BATCH_MESSAGES);
  } else await oneRun(api, topic, { seconds: 2, rate, how, weirPid: weir.pid });
  const sessions = await Promise.all(targets.map((t) => inspect(t.webSocketDebuggerUrl)));
  for (const s of sessions) {
    await s.send("Profiler.enable");
    await s.send("Profiler.setSamplingInterval", { interval: INTERVAL_US });
    await s.send("Profiler.start");
  }
  const cpuBefore = workerdCpuMs(weir.pid);
  const started = performance.now();
  const run =
    batches === "single"
      ? await produceSingles(SINGLE_MESSAGES)
      : batches === "produce"
        ? await produceBatches(BATCH_MESSAGES)
        : batches === "drain"
          ? await drainAll()
          : await oneRun(api, topic, { seconds, rate, how, weirPid: weir.pid });
  const elapsedS = (performance.now() - started) / 1000;
  const cpuMs = workerdCpuMs(weir.pid) - cpuBefore;
  const profiles = [];
  const sources = new Map();
  for (const s of sessions) {
    const { profile } = await s.send("Profiler.stop");
    profiles.push(profile);
    await s.send("Debugger.enable");
    for (const id of new Set(profile.nodes.filter((n) => n.callFrame.url).map((n) => n.callFrame.scriptId))) {
      try {
        sources.set(id, (await s.send("Debugger.getScriptSource", { scriptId: id })).scriptSource);
      } catch {
        // an internal script
      }
    }
    s.close();
  }
  const messages = batches === "single" ? SINGLE_MESSAGES : batches ? BATCH_MESSAGES : Math.round(rate * seconds);
  mkdirSync(`${root}bench/results`, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const moduleOf = moduleIndex(sources);
  profiles.forEach((p, i) => writeFileSync(`${root}bench/results/profile-${stamp}-${i}.cpuprofile`, JSON.stringify(p)));
  if (batches) {
    const what = {
      single: `single-message produce, ${SINGLE_IN_FLIGHT} in flight, 4 partitions`,
      produce: "batched produce, 100 a request, 8 in flight, 1 partition",
      drain: carry
        ? "receive of batches of 100 acked with the next receive, concurrency 8, 1 partition"
        : "receive + ack of batches of 100, concurrency 8, 1 partition",
    }[batches];
    console.log(`\nCPU profile of Weir's isolate, ${new Date().toISOString()}: ${what}, ${messages} messages`);
    console.log(`${Math.round(messages / elapsedS)} msg/s (profiler on)`);
  } else {
    console.log(`\nCPU profile of Weir's isolate, ${new Date().toISOString()}: 8 ${how === "stream" ? "streams" : "long-poll consumers"}, 4 partitions, ${rate} msg/s for ${seconds} s (${messages} messages)`);
    console.log(`produce → delivery p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms (profiler on)`);
  }
  console.log(`workerd CPU (all of it, from /proc): ${(cpuMs / messages).toFixed(2)} ms per message`);
  profiles.forEach((profile, i) => {
    const s = summarize(profile, messages, moduleOf);
    // Busy samples spread over workerd's CPU time: a share of them is that share of the CPU.
    const pm = (n) => `${((n / s.totalUs) * (cpuMs / messages)).toFixed(3)} ms`;
    console.log(`\ntarget ${i} (${targets[i].title ?? ""}): ${s.totalUs} busy samples, ${s.idleUs} idle; ms per message below = share of busy samples × workerd CPU per message`);
    console.log("\nwhere the samples were (each in one place):");
    PLACES.forEach(([label], k) => console.log(`  ${pm(s.placeUs[k]).padStart(10)}  ${((s.placeUs[k] / s.totalUs) * 100).toFixed(1).padStart(5)}%  ${label}`));
    console.log("\ninclusive time per message, by cost (a sample counts for each cost any frame of its stack has):");
    COSTS.forEach(([label], k) => console.log(`  ${pm(s.costUs[k]).padStart(10)}  ${((s.costUs[k] / s.totalUs) * 100).toFixed(1).padStart(5)}%  ${label}`));
    console.log("\nself time by module:");
    for (const [name, us] of s.top(s.selfByModule, 20)) console.log(`  ${pm(us).padStart(10)}  ${((us / s.totalUs) * 100).toFixed(1).padStart(5)}%  ${name}`);
    console.log("\nself time by function:");
    for (const [name, us] of s.top(s.selfByFunction, 30)) console.log(`  ${pm(us).padStart(10)}  ${((us / s.totalUs) * 100).toFixed(1).padStart(5)}%  ${name}`);
  });
} finally {
  await weir.stop();
}
