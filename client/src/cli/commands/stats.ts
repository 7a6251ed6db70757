import type { Command } from "../command.js";
import { table } from "../table.js";

export const statsCommand: Command = {
  name: "stats",
  args: "TOPIC",
  summary: "A topic's subscriptions (ready, in flight, delayed, oldest unacked, dead letters) and partitions.",
  positionals: [1, 1],
  async run(c) {
    const stats = await c.weir().stats(c.positionals[0]!);
    if (c.values.json) return void c.print(JSON.stringify(stats));
    c.print(
      table(
        ["SUBSCRIPTION", "MODE", "READY", "IN_FLIGHT", "DELAYED", "OLDEST_UNACKED_S", "DLQ_IN_TRANSIT", "SURGE"],
        stats.subscriptions.map((s) => [
          s.name,
          s.mode,
          s.ready,
          s.in_flight,
          s.delayed,
          s.oldest_unacked_age_seconds,
          s.dead_letters_pending,
          s.surge.state,
        ]),
      ),
    );
    c.print("");
    c.print(
      table(
        ["PARTITION", "MESSAGES", "BYTES", "FIRST_OFFSET", "NEXT_OFFSET"],
        stats.partitions.map((p) => [p.partition, p.messages, p.bytes, p.first_offset, p.next_offset]),
      ),
    );
  },
};
