import { intOption, UsageError, type Command } from "../command.js";
import { printList } from "../table.js";

const REASONS = ["max_deliveries", "rejected", "expired", "overflow"] as const;

export const dlqCommands: Command[] = [
  {
    name: "dlq list",
    args: "TOPIC",
    summary: "Each subscription's dead-letter topic, the messages it holds, and the dead letters on their way there.",
    notes: [
      "DLQ_MESSAGES counts every message the dead-letter topic holds (it may serve several subscriptions);",
      "IN_TRANSIT counts the subscription's dead letters not yet stored there. To read the dead letters,",
      "subscribe to the dead-letter topic: weir subs create TOPIC.dlq inspect --start earliest, then weir consume.",
    ],
    positionals: [1, 1],
    async run(c) {
      const weir = c.weir();
      const topic = c.positionals[0]!;
      const [stats, subscriptions] = await Promise.all([weir.stats(topic), weir.listSubscriptions(topic)]);
      const inTransit = new Map(stats.subscriptions.map((s) => [s.name, s.dead_letters_pending]));
      const held = new Map<string, number | null>();
      for (const name of new Set(subscriptions.map((s) => s.dead_letter_topic))) {
        // A dead-letter topic someone deleted is made again by the next dead letter or cron sweep.
        const dlq = await weir.stats(name).catch(() => null);
        held.set(name, dlq ? dlq.partitions.reduce((n, p) => n + p.messages, 0) : null);
      }
      const rows = subscriptions.map((s) => ({
        subscription: s.name,
        dead_letter_topic: s.dead_letter_topic,
        dlq_messages: held.get(s.dead_letter_topic) ?? null,
        in_transit: inTransit.get(s.name) ?? 0,
      }));
      printList(c, rows, ["SUBSCRIPTION", "DEAD_LETTER_TOPIC", "DLQ_MESSAGES", "IN_TRANSIT"], (r) => [
        r.subscription,
        r.dead_letter_topic,
        r.dlq_messages,
        r.in_transit,
      ]);
    },
  },
  {
    name: "dlq redrive",
    args: "TOPIC SUBSCRIPTION",
    summary: "Move a subscription's dead letters back to it, with fresh attempts.",
    help: ["  --max N          at most this many", `  --reason REASON  only these: ${REASONS.join(", ")}`],
    options: { max: { type: "string" }, reason: { type: "string" } },
    positionals: [2, 2],
    async run(c) {
      const max = intOption(c, "max", 1);
      const reason = c.values.reason as string | undefined;
      if (reason !== undefined && !(REASONS as readonly string[]).includes(reason)) {
        throw new UsageError(`--reason must be one of ${REASONS.join(", ")}`);
      }
      const [topic, subscription] = c.positionals as [string, string];
      const result = await c.weir().redrive(topic, subscription, {
        ...(max === undefined ? {} : { max }),
        ...(reason === undefined ? {} : { reason: reason as (typeof REASONS)[number] }),
      });
      const more = result.more ? "; more remain: run it again" : "";
      c.print(c.values.json ? JSON.stringify(result) : `moved ${result.moved}, missing ${result.missing} (past the source's retention)${more}`);
    },
  },
];
