import type { Command } from "../command.js";
import { table } from "../table.js";

export const traceCommand: Command = {
  name: "trace",
  args: "TOPIC ID",
  summary: "A message: its state for each subscription, and every event of its life.",
  positionals: [2, 2],
  async run(c) {
    const [topic, id] = c.positionals as [string, string];
    const trace = await c.weir().trace(topic, id);
    if (c.values.json) return void c.print(JSON.stringify(trace));
    const m = trace.message;
    const place = m.offset === null ? `partition ${m.partition}, prepared ${m.produced_at}` : `partition ${m.partition} offset ${m.offset}, produced ${m.produced_at}`;
    const transaction = m.transaction_id === undefined ? "" : `, transaction ${m.transaction_id}`;
    c.print(`message ${m.id}: ${m.state}, ${place}${m.key === null ? "" : `, key ${m.key}`}${transaction}`);
    c.print("");
    c.print(table(["SUBSCRIPTION", "STATE", "ATTEMPTS"], trace.subscriptions.map((s) => [s.name, s.state, s.attempts])));
    c.print("");
    c.print(
      table(
        ["AT", "EVENT", "SUBSCRIPTION", "ATTEMPT", "DETAIL"],
        trace.trace.map((e) => [
          e.at,
          e.event,
          e.subscription ?? null,
          e.attempt ?? null,
          e.detail ? Object.entries(e.detail).map(([k, v]) => `${k}=${String(v)}`).join(" ") : null,
        ]),
      ),
    );
  },
};
