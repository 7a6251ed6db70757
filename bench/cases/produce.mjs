// Produce 256-byte messages to Weir: single-message requests and batches of 100, to a
// 1-partition and a 4-partition topic (each with one subscription, as a real topic has: a
// produce then writes the log row and one delivery row per message). Each call resolves to the
// number of messages it stored. bench/cases/paired.mjs runs them beside their ceilings.
import { BATCH, produceBody } from "../config.mjs";

async function newTopic(api, name, partitions) {
  await api.createTopic(name, partitions);
  await api.createSubscription(name, "s");
  return name;
}

/** The calls, and the batched topics whose backlog the receive+ack case drains afterwards. */
export async function produceCalls(api, prefix) {
  const topics = {
    single1p: await newTopic(api, `${prefix}-single-1p`, 1),
    single4p: await newTopic(api, `${prefix}-single-4p`, 4),
    batch1p: await newTopic(api, `${prefix}-batch-1p`, 1),
    batch4p: await newTopic(api, `${prefix}-batch-4p`, 4),
  };
  const one = produceBody(1);
  const hundred = produceBody(BATCH);
  const post = (topic, body, items) => async () => (await api.call("POST", `/v1/topics/${topic}/messages`, body), items);
  return {
    calls: {
      single1p: post(topics.single1p, one, 1),
      single4p: post(topics.single4p, one, 1),
      batch1p: post(topics.batch1p, hundred, BATCH),
      batch4p: post(topics.batch4p, hundred, BATCH),
    },
    backlogTopics: { batch1: topics.batch1p, batch4: topics.batch4p },
  };
}
