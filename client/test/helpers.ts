import { afterAll, beforeAll } from "vitest";
import { Weir } from "../src/index.js";
import { startWeir, type WeirServer } from "../src/testing/index.js";

let counter = 0;
/** A name no other test uses. */
export function uniqueName(prefix = "t"): string {
  return `${prefix}-${Date.now().toString(36)}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** One Weir server for the test file, and an admin client for it. */
export function useWeir(): { server: () => WeirServer; weir: () => Weir } {
  let server: WeirServer | undefined;
  let weir: Weir | undefined;
  beforeAll(async () => {
    server = await startWeir();
    weir = new Weir({ url: server.url, token: server.token });
  });
  afterAll(async () => {
    await server?.stop();
  });
  return { server: () => server!, weir: () => weir! };
}

/** A new topic with one subscription that starts at the earliest message. */
export async function topicWithSubscription(
  weir: Weir,
  settings: { partitions?: number; subscription?: Record<string, unknown> } = {},
): Promise<{ topic: string; subscription: string }> {
  const topic = uniqueName();
  const subscription = uniqueName("s");
  await weir.putTopic(topic, { partitions: settings.partitions ?? 1 });
  await weir.putSubscription(topic, subscription, { start_position: "earliest", ...settings.subscription });
  return { topic, subscription };
}

/** Resolves when `condition` holds, checking every 20 ms, or fails after `ms`. */
export async function until(condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("the condition did not hold in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
