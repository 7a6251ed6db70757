// A 1 MiB message's round trip: produce, receive, ack, timed stage by stage.
import { config } from "../config.mjs";
import { repeat } from "../stats.mjs";

/** A JSON string body of exactly 1 MiB serialized, Weir's largest message. */
const body = "y".repeat(1024 * 1024 - 2);

export async function measureLargeMessage(api, prefix) {
  const topic = `${prefix}-large`;
  await api.createTopic(topic, 1);
  await api.createSubscription(topic, "s");
  const request = JSON.stringify({ messages: [{ body }] });
  return repeat({ runs: config.runs }, async () => {
    const t0 = performance.now();
    await api.call("POST", `/v1/topics/${topic}/messages`, request);
    const t1 = performance.now();
    const { messages } = await api.receive(topic, "s", { max_messages: 1, wait_seconds: 5 });
    const t2 = performance.now();
    if (messages.length !== 1 || messages[0].body.length !== body.length) throw new Error("1 MiB message: not received intact");
    await api.ack(topic, "s", [messages[0].receipt]);
    const t3 = performance.now();
    return { total: t3 - t0, produce: t1 - t0, receive: t2 - t1, ack: t3 - t2 };
  });
}
