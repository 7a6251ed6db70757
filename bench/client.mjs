// A small keep-alive HTTP client for the benchmark (Node's fetch pools connections).

export function client(url, token) {
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  async function call(method, path, body) {
    const response = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text === "" ? null : JSON.parse(text);
  }
  return {
    call,
    createTopic: (name, partitions) => call("PUT", `/v1/topics/${name}`, { partitions }),
    createSubscription: (topic, name, settings = {}) => call("PUT", `/v1/topics/${topic}/subscriptions/${name}`, settings),
    produce: (topic, messages) => call("POST", `/v1/topics/${topic}/messages`, { messages }),
    receive: (topic, sub, options) => call("POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, options),
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
