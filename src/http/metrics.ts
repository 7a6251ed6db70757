import { createRoute, z } from "@hono/zod-openapi";
import { allTopicFigures, deadLetterDepths, type TopicFigures } from "../routing/observe";
import type { App } from "./context";
import { commonErrors } from "./responses";

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["Observability"],
  summary: "Prometheus metrics (text format 0.0.4); scope metrics or admin",
  description:
    "Every topic's gauges and counters. Each topic's partitions are asked at most once per 5 s per Worker isolate " +
    "(cached); see docs/operations.md for the cost of a scrape and alert rules.",
  responses: {
    200: { description: "Prometheus text exposition format 0.0.4", content: { "text/plain": { schema: z.string() } } },
    ...commonErrors,
  },
});

type Labels = Record<string, string>;

interface Family {
  name: string;
  type: "gauge" | "counter";
  help: string;
  samples: { labels: Labels; value: number }[];
}

/** A label value as the text format wants it: backslash, double quote and newline escaped. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Renders families in the Prometheus text exposition format 0.0.4. Families without samples are left out. */
export function renderFamilies(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (f.samples.length === 0) continue;
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = Object.entries(s.labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(",");
      lines.push(`${f.name}${labels ? `{${labels}}` : ""} ${formatValue(s.value)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The families /metrics shows, from every topic's figures. Pure. */
export function metricFamilies(topics: readonly TopicFigures[], failedTopics: number, now: number): Family[] {
  const family = (name: string, type: Family["type"], help: string): Family => ({ name, type, help, samples: [] });
  const f = {
    ready: family("weir_messages_ready", "gauge", "Messages deliverable now, per subscription."),
    inFlight: family("weir_messages_in_flight", "gauge", "Messages leased to a consumer and not yet acked."),
    delayed: family("weir_messages_delayed", "gauge", "Messages waiting for a delay or a nack's back-off."),
    age: family("weir_oldest_unacked_age_seconds", "gauge", "Age of the oldest message the subscription has not acked (0 when none)."),
    deadLetters: family("weir_dead_letters", "gauge", "Dead letters of the subscription in its dead-letter topic, not yet redriven."),
    pending: family("weir_dead_letters_pending", "gauge", "Dead letters on their way to the dead-letter topic."),
    surge: family("weir_surge_partitions", "gauge", "Temporary surge partitions the subscription reads (0: no surge)."),
    partitions: family("weir_topic_partitions", "gauge", "Partitions of the topic."),
    storedMessages: family("weir_stored_messages", "gauge", "Messages stored in the topic's partitions (retained log)."),
    storedBytes: family("weir_stored_bytes", "gauge", "Bytes of the messages stored in the topic's partitions (UTF-8)."),
    produced: family("weir_messages_produced_total", "counter", "Messages stored by produce calls (duplicates not counted)."),
    acked: family("weir_messages_acked_total", "counter", "Messages acked."),
    redelivered: family("weir_messages_redelivered_total", "counter", "Leases of a message that had been leased before."),
    deadLettered: family("weir_messages_dead_lettered_total", "counter", "Messages dead-lettered, by reason."),
    redriven: family("weir_messages_redriven_total", "counter", "Dead letters made deliverable again by a redrive."),
    empty: family("weir_empty_leases_total", "counter", "Lease calls to a partition that found nothing to deliver (idle polling)."),
    failed: family("weir_scrape_failed_topics", "gauge", "Topics left out of this scrape because a partition could not be reached."),
  };
  const depths = deadLetterDepths(topics);
  for (const t of topics) {
    const topic = t.topic.name;
    f.partitions.samples.push({ labels: { topic }, value: t.topic.partitions });
    f.storedMessages.samples.push({ labels: { topic }, value: t.messages });
    f.storedBytes.samples.push({ labels: { topic }, value: t.bytes });
    f.produced.samples.push({ labels: { topic }, value: t.produced });
    for (const s of t.subscriptions) {
      const labels = { topic, subscription: s.subscription.name };
      f.ready.samples.push({ labels, value: s.ready });
      f.inFlight.samples.push({ labels, value: s.inFlight });
      f.delayed.samples.push({ labels, value: s.delayed });
      f.age.samples.push({ labels, value: s.oldestUnackedAt === null ? 0 : Math.max(0, (now - s.oldestUnackedAt) / 1000) });
      f.deadLetters.samples.push({ labels, value: depths.get(`${t.topic.uid}:${s.subscription.uid}`) ?? 0 });
      f.pending.samples.push({ labels, value: s.deadLettersPending });
      f.surge.samples.push({ labels, value: s.surgePartitions });
      f.acked.samples.push({ labels, value: s.acked });
      f.redelivered.samples.push({ labels, value: s.redelivered });
      f.redriven.samples.push({ labels, value: s.redriven });
      f.empty.samples.push({ labels, value: s.emptyLeases });
      for (const [reason, value] of s.deadLettered) f.deadLettered.samples.push({ labels: { ...labels, reason }, value });
    }
  }
  f.failed.samples.push({ labels: {}, value: failedTopics });
  return Object.values(f);
}

/** GET /metrics. */
export function registerMetricsRoutes(app: App): void {
  app.openapi(metricsRoute, async (c) => {
    const { topics, failed } = await allTopicFigures(c.env);
    const body = renderFamilies(metricFamilies(topics, failed, Date.now()));
    return c.text(body, 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
  });
}
