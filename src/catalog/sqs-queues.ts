import { CATALOG_CACHE_TTL_MS, MAX_CACHED_CATALOG_ENTRIES } from "../shared/limits";
import { SQS_QUEUE_DEFAULTS as DEFAULTS } from "../shared/defaults";
import { TtlCache } from "./cache";

/** The queue attributes of an SQS queue that no topic or subscription setting holds. */
export interface SqsQueueSettings {
  /** ReceiveMessageWaitTimeSeconds: how long a ReceiveMessage that names no wait waits. */
  receiveWaitSeconds: number;
  /** ContentBasedDeduplication (FIFO queues): a message without a deduplication id is deduplicated by its body. */
  contentBasedDeduplication: boolean;
}

/** The shared defaults (src/shared/defaults.ts) as this type; the migration's column defaults agree. */
export const SQS_QUEUE_DEFAULTS: SqsQueueSettings = DEFAULTS;

// Per isolate, like the catalog's topics: a change through another isolate is seen within
// CATALOG_CACHE_TTL_MS, one through this isolate at once.
const cache = new TtlCache<string, SqsQueueSettings>(MAX_CACHED_CATALOG_ENTRIES);

/** SQS queue attributes in D1 (table sqs_queues), by topic uid, with reads cached in memory. */
export class SqsQueueStore {
  constructor(private readonly db: D1Database) {}

  /** The settings of the queue of topic `topicUid`; the defaults when it has none stored. */
  async get(topicUid: string): Promise<SqsQueueSettings> {
    return cache.get(
      topicUid,
      async () => {
        const row = await this.db
          .prepare("SELECT receive_wait_seconds, content_based_deduplication FROM sqs_queues WHERE topic_uid = ?")
          .bind(topicUid)
          .first<{ receive_wait_seconds: number; content_based_deduplication: number }>();
        return row
          ? { receiveWaitSeconds: row.receive_wait_seconds, contentBasedDeduplication: row.content_based_deduplication === 1 }
          : SQS_QUEUE_DEFAULTS;
      },
      () => CATALOG_CACHE_TTL_MS,
    );
  }

  async put(topicUid: string, settings: SqsQueueSettings): Promise<void> {
    await this.db
      .prepare(
        `INSERT INTO sqs_queues (topic_uid, receive_wait_seconds, content_based_deduplication, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (topic_uid) DO UPDATE SET receive_wait_seconds = excluded.receive_wait_seconds,
           content_based_deduplication = excluded.content_based_deduplication, updated_at = excluded.updated_at`,
      )
      .bind(topicUid, settings.receiveWaitSeconds, Number(settings.contentBasedDeduplication), Date.now())
      .run();
    cache.delete(topicUid);
  }

  async delete(topicUid: string): Promise<void> {
    await this.db.prepare("DELETE FROM sqs_queues WHERE topic_uid = ?").bind(topicUid).run();
    cache.delete(topicUid);
  }
}
