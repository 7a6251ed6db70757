import { intOption, type Command } from "../command.js";

export const consumeCommand: Command = {
  name: "consume",
  args: "TOPIC SUBSCRIPTION",
  summary: "Receive messages and print each as a JSON line (with its receipt).",
  help: [
    "  --ack                  acknowledge what was printed (default: leave it leased; it comes back after the lease)",
    "  --max N                stop after N messages",
    "  --follow               keep waiting for new messages until interrupted (Ctrl-C) or --max",
    "  --wait SECONDS         how long each receive waits (default 1, or 20 with --follow)",
    "  --visibility SECONDS   the lease of each delivery (default: the subscription's)",
  ],
  notes: [
    "Without --follow it stops at the first receive that brings nothing.",
  ],
  options: {
    ack: { type: "boolean" },
    max: { type: "string" },
    follow: { type: "boolean" },
    wait: { type: "string" },
    visibility: { type: "string" },
  },
  positionals: [2, 2],
  async run(c) {
    const [topic, subscription] = c.positionals as [string, string];
    const weir = c.weir();
    const max = intOption(c, "max", 1) ?? Infinity;
    const follow = c.values.follow === true;
    const wait = intOption(c, "wait", 0) ?? (follow ? 20 : 1);
    const visibility = intOption(c, "visibility", 1);
    const signal = c.io.signal;
    let printed = 0;
    let unacked: string[] = [];
    while (printed < max && !signal.aborted) {
      let received;
      try {
        received = await weir.receive(
          topic,
          subscription,
          {
            max_messages: Math.min(100, max - printed),
            wait_seconds: wait,
            ...(visibility === undefined ? {} : { visibility_timeout_seconds: visibility }),
            // The previous batch is acked with this receive.
            ...(unacked.length > 0 ? { ack: unacked } : {}),
          },
          { signal },
        );
      } catch (error) {
        if (signal.aborted) break;
        throw error;
      }
      unacked = [];
      for (const message of received.messages) c.print(JSON.stringify(message));
      printed += received.messages.length;
      if (c.values.ack) unacked = received.messages.map((m) => m.receipt);
      if (received.messages.length === 0 && !follow) break;
    }
    if (unacked.length > 0) await weir.ack(topic, subscription, unacked);
  },
};
