import { intOption, UsageError, type Command } from "../command.js";
import { printList } from "../table.js";

export const keyCommands: Command[] = [
  {
    name: "keys create",
    args: "NAME",
    summary: "Create an API key; its secret is printed this once.",
    help: [
      "  --scope SCOPE         repeatable: admin, metrics, produce:TOPIC, consume:TOPIC (a trailing * matches a prefix)",
      "  --produce-rate N      produce requests per second (default: unlimited)",
      "  --receive-rate N      receive requests per second (default: unlimited)",
    ],
    options: { scope: { type: "string", multiple: true }, "produce-rate": { type: "string" }, "receive-rate": { type: "string" } },
    positionals: [1, 1],
    async run(c) {
      const scopes = (c.values.scope as string[] | undefined) ?? [];
      if (scopes.length === 0) throw new UsageError("give at least one --scope");
      const produce = intOption(c, "produce-rate", 1);
      const receive = intOption(c, "receive-rate", 1);
      const key = await c.weir().createKey({
        name: c.positionals[0]!,
        scopes,
        ...(produce === undefined && receive === undefined
          ? {}
          : { rate_limit: { produce_per_second: produce ?? null, receive_per_second: receive ?? null } }),
      });
      if (c.values.json) return void c.print(JSON.stringify(key));
      c.print(`id      ${key.id}\nsecret  ${key.secret}`);
      c.print(`SQS     access key id ${key.sqs.access_key_id}, secret access key ${key.sqs.secret_access_key}`);
      c.print("(the secrets are not shown again)");
    },
  },
  {
    name: "keys list",
    args: "",
    summary: "List the API keys (never their secrets).",
    positionals: [0, 0],
    async run(c) {
      printList(
        c,
        await c.weir().listKeys(),
        ["ID", "NAME", "SCOPES", "PRODUCE/S", "RECEIVE/S", "CREATED"],
        (k) => [k.id, k.name, k.scopes.join(","), k.rate_limit.produce_per_second, k.rate_limit.receive_per_second, k.created_at],
      );
    },
  },
  {
    name: "keys delete",
    args: "ID",
    summary: "Revoke an API key.",
    positionals: [1, 1],
    async run(c) {
      await c.weir().deleteKey(c.positionals[0]!);
      c.print(`deleted key ${c.positionals[0]}`);
    },
  },
];
