import { intOption, jsonOption, type Command } from "../command.js";
import { printList } from "../table.js";

export const topicCommands: Command[] = [
  {
    name: "topics create",
    args: "TOPIC",
    summary: "Create a topic, or change the given settings of an existing one.",
    help: [
      "  --partitions N      1–256 (default 1; can grow, never shrink)",
      '  --settings JSON     any other settings, e.g. \'{"retention_seconds": 86400}\' (docs/api.md)',
    ],
    options: { partitions: { type: "string" }, settings: { type: "string" } },
    positionals: [1, 1],
    async run(c) {
      const partitions = intOption(c, "partitions", 1);
      const settings = { ...jsonOption(c, "settings"), ...(partitions === undefined ? {} : { partitions }) };
      const topic = await c.weir().putTopic(c.positionals[0]!, settings);
      c.print(c.values.json ? JSON.stringify(topic) : `topic ${topic.name}: ${topic.partitions} partition(s)`);
    },
  },
  {
    name: "topics list",
    args: "",
    summary: "List the topics.",
    positionals: [0, 0],
    async run(c) {
      printList(
        c,
        await c.weir().listTopics(),
        ["TOPIC", "PARTITIONS", "RETENTION_S", "TTL_S", "MAX_MESSAGES", "OVERFLOW"],
        (t) => [t.name, t.partitions, t.retention_seconds, t.message_ttl_seconds, t.max_messages, t.overflow],
      );
    },
  },
  {
    name: "topics delete",
    args: "TOPIC",
    summary: "Delete a topic with its subscriptions and messages.",
    positionals: [1, 1],
    async run(c) {
      await c.weir().deleteTopic(c.positionals[0]!);
      c.print(`deleted topic ${c.positionals[0]}`);
    },
  },
];
