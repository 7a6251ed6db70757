import { spawn, spawnSync } from "node:child_process";
import { PassThrough, Writable } from "node:stream";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { COMMANDS, main } from "../src/cli/main.js";
import { uniqueName, useWeir } from "./helpers.js";

const { server, weir } = useWeir();
const bin = fileURLToPath(new URL("../bin/weir.js", import.meta.url));

/** Runs the `weir` process with `args` against the test server (WEIR_URL / WEIR_TOKEN), `input` on stdin. */
function weirProcess(args: string[], input = "", env: Record<string, string> = {}) {
  const run = spawnSync(process.execPath, [bin, ...args], {
    input,
    encoding: "utf8",
    env: { ...process.env, WEIR_URL: server().url, WEIR_TOKEN: server().token, ...env },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** The same in this process (main() with its own streams): as the process does, but faster. */
async function weirCli(args: string[], input = "", env: Record<string, string> = {}) {
  let stdout = "";
  let stderr = "";
  const stdin = new PassThrough();
  stdin.end(input);
  const code = await main(args, {
    stdin,
    stdout: new Writable({ write: (chunk, _encoding, done) => done(void (stdout += String(chunk))) }),
    stderr: new Writable({ write: (chunk, _encoding, done) => done(void (stderr += String(chunk))) }),
    env: { WEIR_URL: server().url, WEIR_TOKEN: server().token, ...env },
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

const lines = (text: string) => text.trim().split("\n").filter(Boolean);

describe("weir", () => {
  it("exits with 0, 1 and 2 as a real process", () => {
    const help = weirProcess(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: weir <command>");
    expect(weirProcess(["stats", uniqueName()])).toMatchObject({ code: 1, stderr: expect.stringContaining("topic_not_found") });
    expect(weirProcess(["topics", "create"]).code).toBe(2);
    expect(weirProcess(["topics", "list"]).code).toBe(0);
  });

  it("answers --help for every command and group with exit code 0", async () => {
    for (const words of [...COMMANDS.map((c) => c.name.split(" ")), ["topics"], ["subs"], ["dlq"], ["keys"]]) {
      const run = await weirCli([...words, "--help"]);
      expect(run.code, words.join(" ")).toBe(0);
      expect(run.stdout, words.join(" ")).toContain(`Usage: weir ${words.join(" ")}`);
    }
  });

  it("creates, lists and deletes topics and subscriptions", async () => {
    const topic = uniqueName();
    expect(await weirCli(["topics", "create", topic, "--partitions", "3"])).toMatchObject({ code: 0, stdout: `topic ${topic}: 3 partition(s)\n` });
    expect((await weirCli(["topics", "list"])).stdout).toMatch(new RegExp(`${topic}\\s+3`));
    expect((await weirCli(["subs", "create", topic, "s", "--mode", "ordered", "--start", "earliest"])).code).toBe(0);
    expect((await weirCli(["subs", "list", topic, "--json"])).stdout).toContain('"mode":"ordered"');
    expect((await weirCli(["subs", "delete", topic, "s"])).code).toBe(0);
    expect((await weirCli(["topics", "delete", topic])).code).toBe(0);
    expect((await weirCli(["topics", "list"])).stdout).not.toContain(`${topic} `);
  });

  it("produces JSON lines from stdin and from a file, then consumes and acks them", async () => {
    const topic = uniqueName();
    await weir().putTopic(topic, { partitions: 2 });
    await weir().putSubscription(topic, "s", { start_position: "earliest" });
    const stdin = Array.from({ length: 1500 }, (_, i) => JSON.stringify({ id: `m${i}`, body: { n: i } })).join("\n");
    const produced = await weirCli(["produce", topic], stdin);
    expect(produced.code).toBe(0);
    expect(produced.stdout).toMatch(/^produced 1500 messages to .* \(0 duplicates\) in [\d.]+ s\n$/);
    const file = join(mkdtempSync(join(tmpdir(), "weir-cli-")), "bodies.jsonl");
    writeFileSync(file, '"a"\n\n{"b": 2}\n');
    expect((await weirCli(["produce", topic, file, "--bodies"])).stdout).toContain("produced 2 messages");

    const consumed = await weirCli(["consume", topic, "s", "--ack", "--max", "1502"]);
    expect(consumed.code).toBe(0);
    const messages = lines(consumed.stdout).map((l) => JSON.parse(l) as { id: string; body: unknown; receipt: string });
    expect(messages).toHaveLength(1502);
    expect(new Set(messages.map((m) => m.id)).size).toBe(1502);
    expect(messages.every((m) => typeof m.receipt === "string")).toBe(true);
    const stats = (await weir().stats(topic)).subscriptions[0]!;
    expect(stats).toMatchObject({ ready: 0, in_flight: 0 });
  });

  it("leaves what it consumed leased without --ack, and stops at --max", async () => {
    const topic = uniqueName();
    await weir().putTopic(topic);
    await weir().putSubscription(topic, "s", { start_position: "earliest" });
    await weir().produce(topic, [{ body: 1 }, { body: 2 }, { body: 3 }]);
    expect(lines((await weirCli(["consume", topic, "s", "--max", "2"])).stdout)).toHaveLength(2);
    expect((await weir().stats(topic)).subscriptions[0]).toMatchObject({ ready: 1, in_flight: 2 });
  });

  it("follows a subscription until --max messages came", async () => {
    const topic = uniqueName();
    await weir().putTopic(topic);
    await weir().putSubscription(topic, "s");
    const child = spawn(process.execPath, [bin, "consume", topic, "s", "--follow", "--max", "1", "--ack"], {
      env: { ...process.env, WEIR_URL: server().url, WEIR_TOKEN: server().token },
    });
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    await new Promise((r) => setTimeout(r, 1_000));
    await weir().produce(topic, [{ body: "late" }]);
    expect(await exited).toBe(0);
    expect(JSON.parse(stdout).body).toBe("late");
  });

  it("prints stats as a table", async () => {
    const topic = uniqueName();
    await weir().putTopic(topic);
    await weir().putSubscription(topic, "s", { start_position: "earliest" });
    await weir().produce(topic, [{ body: 1 }]);
    const run = await weirCli(["stats", topic]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/SUBSCRIPTION\s+MODE\s+READY\s+IN_FLIGHT/);
    expect(run.stdout).toMatch(/\ns\s+shared\s+1\s+0/);
    expect(run.stdout).toMatch(/PARTITION\s+MESSAGES/);
  });

  it("traces a message: its state per subscription and its events", async () => {
    const topic = uniqueName();
    await weir().putTopic(topic);
    await weir().putSubscription(topic, "s", { start_position: "earliest" });
    await weir().produce(topic, [{ id: "traced", key: "k", body: 1 }]);
    const { messages } = await weir().receive(topic, "s");
    await weir().ack(topic, "s", [messages[0]!.receipt]);
    const run = await weirCli(["trace", topic, "traced"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^message traced: stored, partition 0 offset 0, produced \S+, key k\n/);
    expect(run.stdout).toMatch(/\ns\s+acked\s+1\n/);
    expect(run.stdout).toMatch(/produced[\s\S]*leased\s+s\s+1[\s\S]*acked\s+s/);
    expect((await weirCli(["trace", topic, "nobody"])).code).toBe(1);
  });

  it("lists dead letters and redrives them", async () => {
    const topic = uniqueName();
    await weir().putTopic(topic);
    await weir().putSubscription(topic, "s", { start_position: "earliest" });
    await weir().produce(topic, [{ body: "bad" }]);
    const { messages } = await weir().receive(topic, "s");
    await weir().nack(topic, "s", [messages[0]!.receipt], { dead_letter: true, reason: "test" });
    const list = await weirCli(["dlq", "list", topic, "--json"]);
    expect(JSON.parse(list.stdout)).toEqual([{ subscription: "s", dead_letter_topic: `${topic}.dlq`, dlq_messages: 1, in_transit: 0 }]);
    expect(await weirCli(["dlq", "redrive", topic, "s", "--reason", "rejected"])).toMatchObject({ code: 0, stdout: "moved 1, missing 0 (past the source's retention)\n" });
  });

  it("creates a key whose secret works, lists it and deletes it", async () => {
    const topic = uniqueName();
    await weir().putTopic(topic);
    const created = await weirCli(["keys", "create", "ci", "--scope", `produce:${topic}`, "--scope", `consume:${topic}`, "--json"]);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; secret: string; scopes: string[] };
    expect(key.scopes).toEqual([`produce:${topic}`, `consume:${topic}`]);
    const plain = await weirCli(["keys", "create", "ci-plain", "--scope", "admin"]);
    expect(plain.stdout).toMatch(/^id {6}\S+\nsecret {2}\S+\nSQS {5}access key id \S+, secret access key \S+\n/);
    expect((await weirCli(["produce", topic], '{"body": 1}', { WEIR_TOKEN: key.secret })).code).toBe(0);
    expect((await weirCli(["keys", "list"])).stdout).toContain(key.id);
    expect((await weirCli(["keys", "delete", key.id])).code).toBe(0);
    expect((await weirCli(["keys", "list"])).stdout).not.toContain(key.id);
  });

  it("exits 1 when the server refuses, naming the code", async () => {
    const run = await weirCli(["stats", uniqueName()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^weir stats: topic_not_found \(404\): topic .* does not exist\n$/);
    expect((await weirCli(["topics", "list"], "", { WEIR_TOKEN: "wrong" })).code).toBe(1);
    expect((await weirCli(["topics", "list"], "", { WEIR_URL: "http://127.0.0.1:9" })).stderr).toContain("network_error");
  });

  it("exits 2 on wrong usage", async () => {
    expect((await weirCli(["topics", "create"])).code).toBe(2);
    expect((await weirCli(["topics", "create", "a", "--partitions", "many"])).code).toBe(2);
    expect((await weirCli(["topics", "list", "--nonsense"])).code).toBe(2);
    expect((await weirCli(["nonsense"])).code).toBe(2);
    expect((await weirCli(["topics", "list"], "", { WEIR_URL: "" })).stderr).toContain("no server: give --url or set WEIR_URL");
  });

  it("exits 2 at a line that is not a message, after producing the lines before it", async () => {
    const topic = uniqueName();
    await weir().putTopic(topic);
    const run = await weirCli(["produce", topic], '{"body": 1}\nnot json\n{"body": 3}\n');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("line 2 is not JSON; 1 messages before it are stored");
  });

  it("takes --url and --token as flags", async () => {
    const run = await weirCli(["topics", "list", "--url", server().url, "--token", server().token], "", { WEIR_URL: "", WEIR_TOKEN: "" });
    expect(run.code).toBe(0);
  });
});

describe("the progress line", () => {
  it("draws a bar when the share done is known, else counts", async () => {
    const { progressLine } = await import("../src/cli/progress.js");
    expect(progressLine(120, 0.5)).toBe(`[${"#".repeat(15)}${".".repeat(15)}] 50%  120 messages`);
    expect(progressLine(7, null)).toBe("produced 7 messages");
  });
});
