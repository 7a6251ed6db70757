import type { BellAddress } from "../shared/partition-api";
import { SQL } from "./statements";

/** An armed bell: where to ring, and the arm's sequence number. */
export interface Bell extends BellAddress {
  /** The subscription it rings for. */
  subscriptionUid: string;
  seq: number;
}

type BellRow = {
  sub: string;
  name: string;
  idx: number;
  seq: number;
  armed: number;
};

/**
 * The doorbells (src/doorbell) this partition rings when a subscription that had nothing
 * deliverable here gains something. Kept in SQLite, so that an armed partition that was evicted
 * from memory still rings, and mirrored in memory, so that an append checks them for free.
 * A bell rings once per arm: the next receive that finds the partition empty arms it again.
 */
export class Bells {
  private readonly rows = new Map<string, BellRow>();

  constructor(private readonly sql: SqlStorage) {
    for (const row of sql.exec<BellRow>(SQL.bellsAll)) this.rows.set(row.sub, { ...row });
  }

  /** Arms `uid`'s bell (kept as it is when armed already, at no cost) and answers its seq. */
  arm(uid: string, address: BellAddress): number {
    const row = this.rows.get(uid);
    if (row?.armed && row.name === address.name && row.idx === address.index) return row.seq;
    const next: BellRow = { sub: uid, name: address.name, idx: address.index, seq: (row?.seq ?? 0) + 1, armed: 1 };
    this.sql.exec(SQL.bellArm, uid, next.name, next.idx, next.seq);
    this.rows.set(uid, next);
    return next.seq;
  }

  /** Disarms `uid`'s bell and answers it, or null when it was not armed. */
  take(uid: string): Bell | null {
    const row = this.rows.get(uid);
    if (!row?.armed) return null;
    row.armed = 0;
    this.sql.exec(SQL.bellDisarm, uid);
    return { subscriptionUid: uid, name: row.name, index: row.idx, seq: row.seq };
  }

  /** Disarms every armed bell and answers them. */
  takeAll(): Bell[] {
    const taken: Bell[] = [];
    for (const uid of this.rows.keys()) {
      const bell = this.take(uid);
      if (bell) taken.push(bell);
    }
    return taken;
  }

  /** Arms a bell again after a ring that failed, with the same seq (unless armed anew since). */
  rearm(bell: Bell): void {
    const row = this.rows.get(bell.subscriptionUid);
    if (!row || row.seq !== bell.seq) return;
    row.armed = 1;
    this.sql.exec(SQL.bellRearm, bell.subscriptionUid, bell.seq);
  }

  forget(uid: string): void {
    this.rows.delete(uid);
    this.sql.exec(SQL.bellForget, uid);
  }

  /** After the storage was wiped (the topic was deleted). */
  clear(): void {
    this.rows.clear();
  }
}
