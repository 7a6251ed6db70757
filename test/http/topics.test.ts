import { describe, expect, it } from "vitest";
import { call, createSubscription, createTopic, uniqueName } from "../helpers";

describe("topics", () => {
  it("are created with 201 and read back", async () => {
    const name = uniqueName();
    const created = await call("PUT", `/v1/topics/${name}`, { partitions: 4 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, partitions: 4 });
    const read = await call("GET", `/v1/topics/${name}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ name, partitions: 4 });
  });

  it("default to one partition when the body is empty", async () => {
    const name = uniqueName();
    const created = await call("PUT", `/v1/topics/${name}`);
    expect(created.status).toBe(201);
    expect(created.body.partitions).toBe(1);
  });

  it("answer 200 to a repeated PUT and can grow partitions", async () => {
    const name = await createTopic(2);
    const again = await call("PUT", `/v1/topics/${name}`, { partitions: 2 });
    expect(again.status).toBe(200);
    const grown = await call("PUT", `/v1/topics/${name}`, { partitions: 8 });
    expect(grown.status).toBe(200);
    expect(grown.body.partitions).toBe(8);
  });

  it("refuse to shrink partitions with 409", async () => {
    const name = await createTopic(4);
    const shrink = await call("PUT", `/v1/topics/${name}`, { partitions: 2 });
    expect(shrink.status).toBe(409);
    expect(shrink.body.error.code).toBe("conflict");
    expect(shrink.body.error.message).toContain("partitions");
    expect((await call("GET", `/v1/topics/${name}`)).body.partitions).toBe(4);
  });

  it("are listed by name", async () => {
    const a = await createTopic(1, uniqueName("list-a"));
    const b = await createTopic(1, uniqueName("list-b"));
    const list = await call("GET", "/v1/topics");
    const names: string[] = list.body.topics.map((t: { name: string }) => t.name);
    expect(names).toContain(a);
    expect(names).toContain(b);
  });

  it("are deleted with their messages, and a new topic of the same name starts empty", async () => {
    const name = await createTopic(2);
    const sub = await createSubscription(name);
    await call("POST", `/v1/topics/${name}/messages`, { messages: [{ body: 1 }, { body: 2 }] });
    expect((await call("DELETE", `/v1/topics/${name}`)).status).toBe(204);
    expect((await call("GET", `/v1/topics/${name}`)).status).toBe(404);
    expect((await call("DELETE", `/v1/topics/${name}`)).status).toBe(404);

    await createTopic(2, name);
    await createSubscription(name, { start_position: "earliest" }, sub);
    const got = await call("POST", `/v1/topics/${name}/subscriptions/${sub}/receive`, { max_messages: 10 });
    expect(got.body.messages).toEqual([]);
  });
});

describe("subscriptions", () => {
  it("are created with defaults and read back", async () => {
    const topic = await createTopic();
    const name = uniqueName("s");
    const created = await call("PUT", `/v1/topics/${topic}/subscriptions/${name}`, {});
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      topic,
      name,
      mode: "shared",
      start_position: "latest",
      visibility_timeout_seconds: 30,
      max_deliveries: 5,
    });
    expect((await call("GET", `/v1/topics/${topic}/subscriptions/${name}`)).body).toMatchObject({ name });
    const list = await call("GET", `/v1/topics/${topic}/subscriptions`);
    expect(list.body.subscriptions.map((s: { name: string }) => s.name)).toEqual([name]);
  });

  it("change their visibility timeout and max deliveries", async () => {
    const topic = await createTopic();
    const name = await createSubscription(topic);
    const changed = await call("PUT", `/v1/topics/${topic}/subscriptions/${name}`, {
      visibility_timeout_seconds: 90,
      max_deliveries: 9,
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ visibility_timeout_seconds: 90, max_deliveries: 9 });
  });

  it("refuse a change of mode with 409", async () => {
    const topic = await createTopic();
    const name = await createSubscription(topic, { mode: "ordered" });
    const r = await call("PUT", `/v1/topics/${topic}/subscriptions/${name}`, { mode: "shared" });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain("mode");
  });

  it("need an existing topic", async () => {
    const r = await call("PUT", `/v1/topics/${uniqueName()}/subscriptions/s`, {});
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("topic_not_found");
  });

  it("are deleted", async () => {
    const topic = await createTopic();
    const name = await createSubscription(topic);
    expect((await call("DELETE", `/v1/topics/${topic}/subscriptions/${name}`)).status).toBe(204);
    const gone = await call("GET", `/v1/topics/${topic}/subscriptions/${name}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("subscription_not_found");
  });
});

describe("settings left out of a PUT", () => {
  it("keep their current values", async () => {
    const topic = await createTopic(4);
    await call("PUT", `/v1/topics/${topic}`, { dedup_window_seconds: 600 });
    const read = await call("GET", `/v1/topics/${topic}`);
    expect(read.body).toMatchObject({ partitions: 4, dedup_window_seconds: 600 });
    const sub = await createSubscription(topic, { mode: "ordered", visibility_timeout_seconds: 45 });
    const changed = await call("PUT", `/v1/topics/${topic}/subscriptions/${sub}`, { max_deliveries: 7 });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ mode: "ordered", visibility_timeout_seconds: 45, max_deliveries: 7 });
  });
});
