import { MAX_NAME_LENGTH } from "../shared/limits";
import { TOPIC_DEFAULTS } from "./defaults";
import type { Catalog } from "./catalog";
import type { SubscriptionSettings, TopicRecord } from "./records";

/** The dead-letter topic a subscription uses when it names none: `<topic>.dlq`. */
export function defaultDeadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** The dead-letter topic's name, or why it cannot be used. */
export function deadLetterTopicName(topic: string, settings: Pick<SubscriptionSettings, "deadLetterTopic">): string {
  return settings.deadLetterTopic ?? defaultDeadLetterTopic(topic);
}

/** Why `name` cannot be the dead-letter topic of `topic`, or null if it can. */
export function deadLetterTopicProblem(topic: string, name: string): string | null {
  if (name === topic) return "a topic cannot be its own dead-letter topic";
  if (name.length > MAX_NAME_LENGTH) {
    return `the default name ${name.slice(0, 20)}… would pass ${MAX_NAME_LENGTH} characters; set dead_letter_topic`;
  }
  return null;
}

/**
 * The dead-letter topic, created with default settings (one partition) when it does not exist
 * yet. A subscription's dead-letter topic is created when the subscription is created or
 * changed, and again by the cron sweep if someone deleted it.
 */
export async function ensureDeadLetterTopic(catalog: Catalog, name: string): Promise<TopicRecord> {
  const existing = await catalog.getTopic(name);
  if (existing) return existing;
  const { topic } = await catalog.putTopic(name, TOPIC_DEFAULTS, { onlyCreate: true });
  return topic;
}
