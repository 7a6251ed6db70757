import type {
  ApplyOutcome,
  DecideOutcome,
  DecisionAnswer,
  NewMessage,
  TransactionDecision,
  TransactionReason,
  TransactionView,
} from "../shared/partition-api";
import type { Clock } from "../shared/clock";
import {
  CHECK_BACK_CONCURRENCY,
  MAX_CHECK_ANSWER_BYTES,
  TRANSACTION_DUE_BATCH_ROWS,
  TRANSACTION_RETELL_MS,
} from "../shared/limits";
import type { Progress, Transactions } from "./transactions";
import { readBounded } from "../shared/bytes";

// The home partition's side of a transaction that needs other objects or the network: telling
// the participants of a decision, asking the producer (check-backs), and a participant asking
// the home about a decision it never heard. The state changes are in transactions.ts.

/** What the coordinator calls on another partition of the topic. */
export interface Participant {
  applyTransaction(id: string, decision: TransactionDecision): Promise<ApplyOutcome>;
  transactionDecision(id: string): Promise<DecisionAnswer>;
}

/** POSTs a signed check-back (src/shared/outbound.ts signedPost); throws when refused. */
export type CheckBack = (url: string, body: string) => Promise<Response>;


export type CheckAnswer = "commit" | "rollback" | "unknown";

export interface CoordinatorDeps {
  /** Partition `index` of this topic, or null when this partition does not know its topic yet. */
  participant(index: number): Participant | null;
  checkBack(): CheckBack;
  topic(): string;
  /** After `messages` were appended here: wake consumers, re-arm the alarm. */
  afterAppend(messages: NewMessage[]): Promise<void>;
}

export class Coordinator {
  constructor(
    private readonly txns: Transactions,
    private readonly clock: Clock,
    private readonly deps: CoordinatorDeps,
  ) {}

  /**
   * Records the decision here (the one place it is kept), then tells every other participant
   * and waits for them. A participant that cannot be reached is told again by the alarm; the
   * answer's `results` is then null (a repeated commit answers them once all applied).
   */
  async decide(id: string, decision: TransactionDecision, reason: TransactionReason | null, automatic = false): Promise<DecideOutcome> {
    const decided = this.txns.decide(id, decision, reason);
    if (!decided.ok) {
      return decided.code === "transaction_not_found" ? { ok: false, code: decided.code } : { ok: false, code: decided.code, transaction: decided.view };
    }
    if (decided.appendedHere.length > 0) await this.deps.afterAppend(decided.appendedHere);
    const progress = decided.progress.pending.length > 0 ? await this.tell(id, decided.progress) : decided.progress;
    // Only decisions Weir makes by itself are logged: a client's are in its own logs.
    if (decided.fresh && automatic) {
      log("transaction_decided", { topic: this.deps.topic(), transaction: id, state: decision, reason: progress.view.reason });
    }
    return {
      ok: true,
      transaction: progress.view,
      results: decision === "committed" ? progress.results : null,
      pending: progress.pending.length,
    };
  }

  /** Tells the participants that have not applied the decision; returns the progress after. */
  private async tell(id: string, progress: Progress): Promise<Progress> {
    const decision = progress.view.state;
    if (decision === "prepared") return progress;
    await Promise.all(
      progress.pending.map(async (index) => {
        try {
          const participant = this.deps.participant(index);
          if (!participant) return;
          const outcome = await participant.applyTransaction(id, decision);
          // A deleted topic's partition holds nothing: counted as told.
          this.txns.applied(id, index, outcome.ok ? outcome.results : []);
        } catch (error) {
          log("transaction_apply_failed", { topic: this.deps.topic(), transaction: id, partition: index, message: String(error) });
        }
      }),
    );
    return this.txns.progress(id) ?? progress;
  }

  /**
   * The alarm's transaction work: prepared records past their timeout are rolled back or
   * checked back; decided ones are told again to participants that missed them; shares here
   * whose decision is overdue ask their home.
   */
  async runDue(): Promise<void> {
    const due = this.txns.dueRecords(TRANSACTION_DUE_BATCH_ROWS);
    for (let i = 0; i < due.length; i += CHECK_BACK_CONCURRENCY) {
      await Promise.all(due.slice(i, i + CHECK_BACK_CONCURRENCY).map((id) => this.runRecord(id)));
    }
    for (const { id, home } of this.txns.sharesToAsk(TRANSACTION_DUE_BATCH_ROWS)) await this.askHome(id, home);
  }

  private async runRecord(id: string): Promise<void> {
    const progress = this.txns.progress(id);
    if (!progress) return;
    if (progress.view.state !== "prepared") {
      const after = await this.tell(id, progress);
      if (after.pending.length > 0) this.txns.retryAt(id, this.clock.now() + TRANSACTION_RETELL_MS);
      return;
    }
    const view = progress.view;
    if (!view.check) {
      await this.decide(id, "rolled_back", "timeout", true);
      return;
    }
    if (view.checks >= view.check.maxChecks) {
      await this.decide(id, "rolled_back", "unresolved", true);
      return;
    }
    const number = this.txns.startCheck(id);
    if (number === null) return;
    const answer = await this.checkBack(view, progress.messageIds, number);
    log("transaction_checked", { topic: this.deps.topic(), transaction: id, check: number, answer });
    if (answer === "commit") await this.decide(id, "committed", null, true);
    else if (answer === "rollback") await this.decide(id, "rolled_back", "client", true);
    else if (number >= view.check.maxChecks) await this.decide(id, "rolled_back", "unresolved", true);
  }

  /**
   * Asks the producer at the transaction's check url. Only a 2xx answer whose JSON body has
   * `decision` commit or rollback counts; anything else (another status, a redirect, which is
   * never followed, a refused address, a timeout, a body that is not such JSON) is unknown.
   */
  private async checkBack(view: TransactionView, messageIds: string[], check: number): Promise<CheckAnswer> {
    const body = JSON.stringify({ topic: this.deps.topic(), transaction_id: view.id, message_ids: messageIds, check });
    try {
      const response = await this.deps.checkBack()(view.check!.url, body);
      if (response.status < 200 || response.status > 299) {
        await response.body?.cancel();
        return "unknown";
      }
      const text = await readCapped(response, MAX_CHECK_ANSWER_BYTES);
      const parsed = JSON.parse(text) as { decision?: unknown };
      return parsed.decision === "commit" || parsed.decision === "rollback" ? parsed.decision : "unknown";
    } catch (error) {
      log("transaction_check_failed", { topic: this.deps.topic(), transaction: view.id, check, message: String(error) });
      return "unknown";
    }
  }

  private async askHome(id: string, home: number): Promise<void> {
    try {
      const participant = this.deps.participant(home);
      if (!participant) return;
      const answer = await participant.transactionDecision(id);
      if (answer.state === "prepared") {
        this.txns.askAgainAt(id, Math.max(answer.askAgainAt, this.clock.now() + TRANSACTION_RETELL_MS));
        return;
      }
      const applied = this.txns.applyShare(id, answer.state);
      if (applied.appended.length > 0) await this.deps.afterAppend(applied.appended);
    } catch (error) {
      log("transaction_ask_failed", { topic: this.deps.topic(), transaction: id, home, message: String(error) });
      this.txns.askAgainAt(id, this.clock.now() + TRANSACTION_RETELL_MS);
    }
  }
}

/** The body's text, or an error if it is longer than `max` bytes. */
async function readCapped(response: Response, max: number): Promise<string> {
  const bytes = await readBounded(response.body, max);
  if (!bytes) throw new Error(`the answer is longer than ${max} bytes`);
  return new TextDecoder().decode(bytes);
}

function log(event: string, fields: Record<string, unknown>): void {
  const line = JSON.stringify({ event, ...fields });
  if (event.endsWith("_failed")) console.error(line);
  else console.log(line);
}
