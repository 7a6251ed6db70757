import { intOption, jsonOption, UsageError, type Command } from "../command.js";
import { printList } from "../table.js";

export const subscriptionCommands: Command[] = [
  {
    name: "subs create",
    args: "TOPIC SUBSCRIPTION",
    summary: "Create a subscription, or change the given settings of an existing one.",
    help: [
      "  --mode MODE            shared (default) or ordered; fixed at creation",
      "  --start POSITION       latest (default) or earliest; fixed at creation",
      "  --visibility SECONDS   default lease of a delivery (default 30)",
      "  --max-deliveries N     attempts before a message is dead-lettered (default 5)",
      "  --settings JSON        any other settings (docs/api.md)",
    ],
    options: {
      mode: { type: "string" },
      start: { type: "string" },
      visibility: { type: "string" },
      "max-deliveries": { type: "string" },
      settings: { type: "string" },
    },
    positionals: [2, 2],
    async run(c) {
      const mode = c.values.mode as "shared" | "ordered" | undefined;
      const start = c.values.start as "earliest" | "latest" | undefined;
      if (mode !== undefined && !["shared", "ordered"].includes(mode)) throw new UsageError("--mode must be shared or ordered");
      if (start !== undefined && !["earliest", "latest"].includes(start)) throw new UsageError("--start must be earliest or latest");
      const visibility = intOption(c, "visibility", 1);
      const maxDeliveries = intOption(c, "max-deliveries", 1);
      const settings = {
        ...jsonOption(c, "settings"),
        ...(mode === undefined ? {} : { mode }),
        ...(start === undefined ? {} : { start_position: start }),
        ...(visibility === undefined ? {} : { visibility_timeout_seconds: visibility }),
        ...(maxDeliveries === undefined ? {} : { max_deliveries: maxDeliveries }),
      };
      const [topic, name] = c.positionals as [string, string];
      const subscription = await c.weir().putSubscription(topic, name, settings);
      c.print(
        c.values.json
          ? JSON.stringify(subscription)
          : `subscription ${topic}/${subscription.name}: ${subscription.mode}, from ${subscription.start_position}, ` +
              `dead letters to ${subscription.dead_letter_topic}`,
      );
    },
  },
  {
    name: "subs list",
    args: "TOPIC",
    summary: "List a topic's subscriptions.",
    positionals: [1, 1],
    async run(c) {
      printList(
        c,
        await c.weir().listSubscriptions(c.positionals[0]!),
        ["SUBSCRIPTION", "MODE", "START", "VISIBILITY_S", "MAX_DELIVERIES", "DEAD_LETTER_TOPIC"],
        (s) => [s.name, s.mode, s.start_position, s.visibility_timeout_seconds, s.max_deliveries, s.dead_letter_topic],
      );
    },
  },
  {
    name: "subs delete",
    args: "TOPIC SUBSCRIPTION",
    summary: "Delete a subscription.",
    positionals: [2, 2],
    async run(c) {
      const [topic, name] = c.positionals as [string, string];
      await c.weir().deleteSubscription(topic, name);
      c.print(`deleted subscription ${topic}/${name}`);
    },
  },
];
