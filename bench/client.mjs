// A small keep-alive HTTP client for the benchmarks. node:http with a keep-alive agent costs
// the client less CPU per request than fetch, and on a 2-core machine the client shares the
// cores with the server it measures.
import { Agent, request as httpRequest } from "node:http";

/** Every request of the bench gives up after this long, so no run can hang. */
const REQUEST_TIMEOUT_MS = 120_000;
// LIFO: the socket used last is the least likely to have been closed by the server while idle
// (with FIFO, a run that once had many sockets open kept picking stale ones).
const agent = new Agent({ keepAlive: true, scheduling: "lifo" });

/**
 * One HTTP request; resolves with the status, the headers and the body as text. A keep-alive
 * socket the server closed while it sat idle fails the next request on it with ECONNRESET
 * before the server saw that request: that one is sent again, on a new socket (as the Node
 * documentation advises for `request.reusedSocket`).
 */
export async function send(url, method, path, body, headers = {}) {
  // More than once: after streams end the server closes their sockets, and several idle ones
  // of the pool may be stale at once.
  for (let attempt = 1; ; attempt++) {
    try {
      return await sendOnce(url, method, path, body, headers);
    } catch (error) {
      if (attempt < 10 && error?.reusedSocket && error.code === "ECONNRESET") continue;
      throw error;
    }
  }
}

function sendOnce(url, method, path, body, headers) {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url + path,
      {
        method,
        agent,
        headers: {
          ...headers,
          ...(payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    // A deadline for the whole request, not the socket's idle timeout: a long poll may rightly
    // stay silent for up to 60 s, but no request of the bench may outlive this.
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
    req.on("close", () => clearTimeout(timer));
    req.on("error", (error) => {
      error.reusedSocket = req.reusedSocket;
      reject(error);
    });
    req.end(payload);
  });
}

/**
 * A streamed answer (POST …/stream): calls `onLine` with each parsed line as it arrives;
 * resolves with the last line once the server ends the stream.
 */
export async function streamLines(url, path, body, headers, onLine) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await streamLinesOnce(url, path, body, headers, onLine);
    } catch (error) {
      // As send(): a keep-alive socket the server had closed fails before the server saw the
      // request. The server closes the sockets of streams that ended, so several may be stale.
      if (attempt < 10 && error?.reusedSocket && error.code === "ECONNRESET" && !error.answered) continue;
      throw error;
    }
  }
}

function streamLinesOnce(url, path, body, headers, onLine) {
  const payload = JSON.stringify(body);
  let answered = false;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url + path,
      { method: "POST", agent, headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
      (res) => {
        answered = true;
        if (res.statusCode !== 200) {
          let text = "";
          res.on("data", (c) => (text += c));
          res.on("end", () => reject(new Error(`POST ${path}: ${res.statusCode} ${text}`)));
          return;
        }
        let buffered = "";
        let last = null;
        res.setEncoding("utf8");
        res.on("data", (chunk) => {
          buffered += chunk;
          for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
            last = JSON.parse(buffered.slice(0, newline));
            buffered = buffered.slice(newline + 1);
            onLine(last);
          }
        });
        res.on("end", () => (last?.error ? reject(new Error(`stream failed: ${JSON.stringify(last.error)}`)) : resolve(last)));
        res.on("error", reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`POST ${path}: no end in ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
    req.on("close", () => clearTimeout(timer));
    req.on("error", (error) => {
      error.reusedSocket = req.reusedSocket;
      error.answered = answered;
      reject(error);
    });
    req.end(payload);
  });
}

/**
 * `wrangler dev` reloads the Worker when a file under src/ changes (other engineers edit the
 * same tree), and answers the requests it cut with this 503. The bench retries those and
 * counts them, so a run reports that its figures were disturbed instead of dying.
 */
const RELOADED = /restarted mid-request/;
const MAX_RELOAD_RETRIES = 3;
export const disturbances = { reloads: 0, cut: [] };

export function client(url, token) {
  const headers = { authorization: `Bearer ${token}` };
  /** The answer's parsed body and its headers. */
  async function exchange(method, path, body) {
    for (let attempt = 0; ; attempt++) {
      const { status, headers: answered, text } = await send(url, method, path, body, headers);
      if (status === 503 && RELOADED.test(text) && attempt < MAX_RELOAD_RETRIES) {
        disturbances.reloads++;
        // Which requests were cut, and when: the run's report names them (which case was disturbed).
        disturbances.cut.push(`${new Date().toISOString()} ${method} ${url}${path}`);
        continue;
      }
      if (status < 200 || status > 299) throw new Error(`${method} ${path}: ${status} ${text}`);
      return { body: text === "" ? null : JSON.parse(text), headers: answered };
    }
  }
  const call = async (method, path, body) => (await exchange(method, path, body)).body;
  return {
    call,
    createTopic: (name, partitions) => call("PUT", `/v1/topics/${name}`, { partitions }),
    createSubscription: (topic, name, settings = {}) => call("PUT", `/v1/topics/${topic}/subscriptions/${name}`, settings),
    produce: (topic, messages) => call("POST", `/v1/topics/${topic}/messages`, { messages }),
    receive: (topic, sub, options) => call("POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, options),
    /** A receive, with the object calls it cost (its Weir-Partition-Calls and Weir-Doorbell-Calls headers). */
    receiveCounted: async (topic, sub, options) => {
      const { body, headers: h } = await exchange("POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, options);
      return { ...body, partitionCalls: Number(h["weir-partition-calls"]), doorbellCalls: Number(h["weir-doorbell-calls"]) };
    },
    /** A stream of the subscription: `onMessages` gets each line's messages as they arrive. */
    stream: (topic, sub, options, onMessages) =>
      streamLines(url, `/v1/topics/${topic}/subscriptions/${sub}/stream`, options, headers, (line) => {
        if (line.messages?.length) onMessages(line.messages);
      }),
    ack: (topic, sub, receipts) => call("POST", `/v1/topics/${topic}/subscriptions/${sub}/ack`, { receipts }),
    stats: (topic) => call("GET", `/v1/topics/${topic}/stats`),
  };
}

/** The p-th percentile (0..100) of sorted numbers. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Runs `worker` on `concurrency` parallel loops until each returns false. */
export async function parallel(concurrency, worker) {
  await Promise.all(Array.from({ length: concurrency }, async (_, i) => {
    while (await worker(i));
  }));
}
