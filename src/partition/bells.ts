import type { BellAddress } from "../shared/partition-api";
import { SQL } from "./statements";

const EPOCH_SETTING = "bells_epoch";
/** Room for this many arms in one incarnation; 2^21 incarnations stay within safe integers. */
const SEQS_PER_EPOCH = 2 ** 32;

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
 * deliverable here gains something. A bell rings once per arm: the next receive that finds the
 * partition empty arms it again.
 *
 * Arming and ringing are memory only: among competing consumers a partition arms and rings
 * once per message, and two row writes a message for that would be most of what a message
 * costs. SQLite keeps only where each subscription's doorbell is (written when that changes),
 * so that a partition loaded again (evicted, restarted) treats every bell it knows as armed and
 * rings once at its next change: a ring that finds nobody waiting costs a waiter one lease that
 * finds nothing, a ring never made would leave it waiting. A seq only grows, also across
 * restarts (each start of the object begins a new epoch of seqs above the last one's), so that
 * the doorbell can tell an old "empty" report from a new one.
 */
export class Bells {
  private readonly rows = new Map<string, BellRow>();
  /**
   * Seqs of this incarnation of the partition start above every seq of an earlier one: a report
   * of an arm made before a restart (held by a Worker, or late) must never count as newer than a
   * ring made after it. One row written per start of the object.
   */
  private nextSeq: number;

  constructor(private readonly sql: SqlStorage) {
    const epoch = Number(sql.exec<{ value: string }>(SQL.settingGet, EPOCH_SETTING).toArray()[0]?.value ?? "0") + 1;
    sql.exec(SQL.settingSet, EPOCH_SETTING, String(epoch));
    this.nextSeq = epoch * SEQS_PER_EPOCH;
    // Armed or not when the partition stopped, nobody knows: armed, with a seq of this incarnation.
    for (const row of sql.exec<Pick<BellRow, "sub" | "name" | "idx">>(SQL.bellsAll)) this.rows.set(row.sub, { ...row, seq: this.nextSeq++, armed: 1 });
  }

  /** Arms `uid`'s bell (kept as it is when armed already, at no cost) and answers its seq. */
  arm(uid: string, address: BellAddress): number {
    const row = this.rows.get(uid);
    if (row?.armed && row.name === address.name && row.idx === address.index) return row.seq;
    const seq = this.nextSeq++;
    const next: BellRow = { sub: uid, name: address.name, idx: address.index, seq, armed: 1 };
    if (!row || row.name !== next.name || row.idx !== next.idx) this.sql.exec(SQL.bellArm, uid, next.name, next.idx, next.seq);
    this.rows.set(uid, next);
    return next.seq;
  }

  /** Disarms `uid`'s bell and answers it, or null when it was not armed. */
  take(uid: string): Bell | null {
    const row = this.rows.get(uid);
    if (!row?.armed) return null;
    row.armed = 0;
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
