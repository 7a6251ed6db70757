// Producers and consumers that keep going through server restarts.

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A small seeded generator (mulberry32), so that a run can be replayed from its seed. */
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Calls the API; throws on a network error or a 5xx (the caller retries), returns 2xx/4xx answers. */
export async function call(url, token, method, path, body) {
  const signal = AbortSignal.timeout(15_000);
  const response = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  // Node's fetch can leave a body read that the timeout interrupts pending for ever
  // (nodejs/node#56917): the timeout is raced here too.
  const text = await Promise.race([
    response.text(),
    new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true })),
  ]);
  if (response.status >= 500) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Retries `fn` until it succeeds or `until()` says stop; waits between tries (the server may be down). */
export async function persist(fn, until = () => false) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (until()) throw error;
      await sleep(Math.min(1000, 50 * (attempt + 1)));
    }
  }
}

/**
 * Produces `total` messages in batches with ids, retrying every unanswered batch with the same
 * ids (deduplication makes that safe). A share `keyed` of the messages has one of `keys` keys.
 */
export async function producer({ url, token, topic, ledger, next, total, batch, random, rate, keyed, keys }) {
  for (;;) {
    const start = next.value;
    if (start >= total) return;
    const size = Math.min(batch, total - start);
    next.value += size;
    const messages = Array.from({ length: size }, (_, i) => {
      const n = start + i;
      const id = `m-${n}`;
      ledger.attempted.add(id);
      return random() < keyed ? { id, key: `k${n % keys}`, body: { n } } : { id, body: { n } };
    });
    const answer = await persist(async () => {
      ledger.produceRequests++;
      const r = await call(url, token, "POST", `/v1/topics/${topic}/messages`, { messages });
      if (r.status !== 200) throw new Error(`produce refused: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    });
    ledger.producesAnswered++;
    for (const r of answer.results) ledger.recordProduced(r.id, r.partition, r.offset);
    if (rate) await sleep((size / rate) * 1000);
  }
}

/**
 * Receives from one subscription until `done()`: acks most deliveries, nacks some, and lets some
 * leases run out (does nothing with them). In an ordered subscription a lease that runs out
 * holds up its whole key (and keyless messages are one sequence per partition), so there
 * fewer are left to run out, or the drain would take many minutes.
 */
export async function consumer({ url, token, topic, sub, ordered, ledger, random, done }) {
  while (!done()) {
    let got;
    try {
      const r = await call(url, token, "POST", `/v1/topics/${topic}/subscriptions/${sub}/receive`, {
        max_messages: 20,
        wait_seconds: 1,
      });
      got = r.body.messages;
    } catch {
      await sleep(200);
      continue;
    }
    const acks = [];
    const nacks = [];
    for (const m of got) {
      ledger.recordDelivery(sub, m, ordered);
      const roll = random();
      const [nack, expire] = ordered ? [0.05, 0.02] : [0.1, 0.1];
      if (roll < 1 - nack - expire) acks.push(m);
      else if (roll < 1 - expire) nacks.push(m);
      // else: let the lease run out
    }
    if (acks.length > 0) {
      for (const m of acks) ledger.recordAckSent(sub, m, ordered);
      // An ack whose answer was lost (the server was killed) is sent again: acks are idempotent,
      // so the answer then tells whether it took effect.
      const r = await persist(
        () => call(url, token, "POST", `/v1/topics/${topic}/subscriptions/${sub}/ack`, { receipts: acks.map((m) => m.receipt) }),
        done,
      ).catch(() => null);
      r?.body.results.forEach((result, i) => result.ok && ledger.recordAcked(sub, acks[i].id));
    }
    if (nacks.length > 0) {
      await call(url, token, "POST", `/v1/topics/${topic}/subscriptions/${sub}/nack`, {
        receipts: nacks.map((m) => m.receipt),
      }).catch(() => {});
    }
  }
}

/**
 * Transactions through restarts: prepares `total` transactions of 1 to 4 messages (ids
 * `tx-<n>-<i>`, some keyed, so that many span partitions), then commits most, rolls back some
 * and abandons a few to their timeout. A prepare whose answer was lost is sent again as a new
 * transaction: the lost one, never committed, ends rolled back at its timeout. A commit or
 * rollback whose answer was lost is sent again (both are idempotent); a commit refused because
 * the transaction timed out meanwhile counts as a rollback.
 */
export async function transactor({ url, token, topic, ledger, total, random, pauseMs }) {
  for (let n = 0; n < total; n++) {
    const size = 1 + Math.floor(random() * 4);
    const messages = Array.from({ length: size }, (_, i) => {
      const id = `tx-${n}-${i}`;
      return random() < 0.5 ? { id, key: `tk${(n + i) % 7}`, body: { tx: n, i } } : { id, body: { tx: n, i } };
    });
    const roll = random();
    const abandon = roll >= 0.95;
    const prepared = await persist(async () => {
      const r = await call(url, token, "POST", `/v1/topics/${topic}/transactions`, { messages, timeout_seconds: abandon ? 2 : 30 });
      if (r.status !== 201) throw new Error(`prepare refused: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    });
    const id = prepared.transaction.id;
    const ids = messages.map((m) => m.id);
    if (abandon) {
      ledger.abandonTransaction(id, ids);
    } else if (roll < 0.8) {
      const r = await persist(() => call(url, token, "POST", `/v1/topics/${topic}/transactions/${id}/commit`));
      if (r.status === 200) {
        for (const id of ids) ledger.attempted.add(id);
        for (const result of r.body.results) ledger.recordProduced(result.id, result.partition, result.offset);
        ledger.transactions.committed++;
      } else if (r.status === 409 && r.body.error.code === "transaction_rolled_back") {
        ledger.rollBack(ids);
      } else {
        throw new Error(`commit of ${id}: ${r.status} ${JSON.stringify(r.body)}`);
      }
    } else {
      const r = await persist(() => call(url, token, "POST", `/v1/topics/${topic}/transactions/${id}/rollback`));
      if (r.status !== 200) throw new Error(`rollback of ${id}: ${r.status} ${JSON.stringify(r.body)}`);
      ledger.rollBack(ids);
    }
    if (pauseMs) await sleep(pauseMs);
  }
}

/** Waits until every abandoned transaction is rolled back by its timeout; returns those that are not. */
export async function awaitAbandoned({ url, token, topic, ledger, deadline }) {
  const open = [];
  for (const [id, ids] of ledger.abandoned) {
    for (;;) {
      const r = await persist(() => call(url, token, "GET", `/v1/topics/${topic}/transactions/${id}`));
      const state = r.body.transaction?.state;
      if (state === "rolled_back") {
        ledger.rollBack(ids);
        break;
      }
      if (Date.now() > deadline) {
        open.push(`${id}: ${state}`);
        break;
      }
      await sleep(500);
    }
  }
  return open;
}
