// What the chaos harness saw, and the checks it runs on it at the end.

export class Ledger {
  constructor(subscriptions) {
    /** id → { partition, offset } from produce answers (2xx). */
    this.produced = new Map();
    /** Ids of every produce request sent, answered or not. */
    this.attempted = new Set();
    this.produceRequests = 0;
    this.producesAnswered = 0;
    /** sub → id → { partition, offset, deliveries, acked } */
    this.bySub = new Map(subscriptions.map((s) => [s, new Map()]));
    /** sub → "partition|key" → { lastFirstOffset, pendingAck: Set<offset> } for ordered checks. */
    this.orderViolations = [];
    this.groups = new Map();
    this.deliveries = 0;
    this.redeliveries = 0;
    this.duplicatesSeen = 0;
    this.deadLettered = new Map(subscriptions.map((s) => [s, new Set()]));
    /** Transactions (faults/traffic.mjs transactor): ids of rolled-back messages, abandoned ones by id. */
    this.rolledBack = new Set();
    this.abandoned = new Map();
    this.transactions = { committed: 0, rolledBack: 0, abandoned: 0 };
  }

  rollBack(ids) {
    this.transactions.rolledBack++;
    for (const id of ids) this.rolledBack.add(id);
  }

  abandonTransaction(id, ids) {
    this.transactions.abandoned++;
    this.abandoned.set(id, ids);
  }

  recordProduced(id, partition, offset) {
    const known = this.produced.get(id);
    if (known && (known.partition !== partition || known.offset !== offset)) {
      this.orderViolations.push(`id ${id} stored twice: ${JSON.stringify(known)} and ${partition}/${offset}`);
    }
    this.produced.set(id, { partition, offset });
  }

  /** A delivery to `sub`; `ordered` subscriptions are checked per key (or partition). */
  recordDelivery(sub, message, ordered) {
    this.deliveries++;
    const seen = this.bySub.get(sub);
    let entry = seen.get(message.id);
    if (!entry) seen.set(message.id, (entry = { partition: message.partition, offset: message.offset, deliveries: 0, acked: false }));
    entry.deliveries++;
    if (message.attempt > 1) this.redeliveries++;
    if (entry.deliveries > 1 && entry.acked) this.duplicatesSeen++;
    if (!ordered) return;
    const key = `${sub}|${message.partition}|${message.key ?? ""}`;
    let group = this.groups.get(key);
    if (!group) this.groups.set(key, (group = { firstOffsets: [], ackSent: new Set(), delivered: new Set() }));
    // Every earlier message of the key that was delivered must have been acked (or the ack sent).
    for (const earlier of group.delivered) {
      if (earlier < message.offset && !group.ackSent.has(earlier)) {
        this.orderViolations.push(`${key}: offset ${message.offset} delivered while ${earlier} was not acked`);
      }
    }
    if (!group.delivered.has(message.offset)) {
      const last = group.firstOffsets[group.firstOffsets.length - 1];
      if (last !== undefined && message.offset < last) {
        this.orderViolations.push(`${key}: offset ${message.offset} first delivered after ${last}`);
      }
      group.firstOffsets.push(message.offset);
      group.delivered.add(message.offset);
    }
  }

  recordAckSent(sub, message, ordered) {
    if (!ordered) return;
    this.groups.get(`${sub}|${message.partition}|${message.key ?? ""}`)?.ackSent.add(message.offset);
  }

  recordAcked(sub, id) {
    const entry = this.bySub.get(sub).get(id);
    if (entry) entry.acked = true;
  }

  recordDeadLetter(sub, id) {
    this.deadLettered.get(sub).add(id);
  }

  /** Produced ids each subscription has not yet acked or dead-lettered. */
  outstanding(sub) {
    const seen = this.bySub.get(sub);
    const dead = this.deadLettered.get(sub);
    return [...this.produced.keys()].filter((id) => !seen.get(id)?.acked && !dead.has(id));
  }

  /** The end checks: returns the list of faults (empty when all is well). */
  check(nextOffsets) {
    const faults = [...this.orderViolations];
    for (const [sub, seen] of this.bySub) {
      const lost = this.outstanding(sub);
      if (lost.length > 0) faults.push(`${sub}: ${lost.length} acknowledged produces never acked or dead-lettered, e.g. ${lost.slice(0, 5)}`);
      const phantom = [...seen.keys()].filter((id) => !this.attempted.has(id));
      if (phantom.length > 0) faults.push(`${sub}: ${phantom.length} deliveries of messages never produced, e.g. ${phantom.slice(0, 5)}`);
      const rolledBack = [...seen.keys()].filter((id) => this.rolledBack.has(id));
      if (rolledBack.length > 0) faults.push(`${sub}: ${rolledBack.length} messages of rolled-back transactions delivered, e.g. ${rolledBack.slice(0, 5)}`);
      for (const id of [...seen.keys()].filter((i) => this.deadLettered.get(sub).has(i) && seen.get(i).acked)) {
        faults.push(`${sub}: ${id} both acked and dead-lettered`);
      }
    }
    // Offsets: every offset of every partition holds exactly one message, and each was delivered.
    const first = this.bySub.values().next().value;
    const byPlace = new Map();
    for (const [id, entry] of first) {
      const place = `${entry.partition}/${entry.offset}`;
      if (byPlace.has(place) && byPlace.get(place) !== id) faults.push(`offset ${place} holds ${byPlace.get(place)} and ${id}`);
      byPlace.set(place, id);
    }
    for (const [id, known] of this.produced) {
      const place = `${known.partition}/${known.offset}`;
      if (byPlace.get(place) !== undefined && byPlace.get(place) !== id) faults.push(`produce of ${id} answered ${place}, which holds ${byPlace.get(place)}`);
    }
    nextOffsets.forEach((next, partition) => {
      for (let offset = 0; offset < next; offset++) {
        if (!byPlace.has(`${partition}/${offset}`)) faults.push(`partition ${partition} offset ${offset} was never delivered (gap or lost)`);
      }
    });
    return faults;
  }
}
