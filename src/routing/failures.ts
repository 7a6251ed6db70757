// What can go wrong on the Worker's side of the objects, as values of its own: src/http maps
// them to status codes (http/errors.ts), the cron logs them. Nothing here knows of HTTP.

/** Every failure routing/ throws. */
export abstract class RoutingFailure extends Error {}

/** A Durable Object call failed (overloaded, reset, network): the caller's input was fine; retry. */
export class PartitionUnavailable extends RoutingFailure {
  override readonly name = "PartitionUnavailable";
  constructor(readonly detail: string) {
    super("a partition is unavailable; retry the request");
  }
}

/** The topic was deleted while the request was on its way (a cached catalog still knew it). */
export class TopicGone extends RoutingFailure {
  override readonly name = "TopicGone";
  constructor(readonly topic: string) {
    super(`topic ${topic} does not exist`);
  }
}

/** `overflow: reject` and the batch would pass a partition's backlog limit; nothing was stored there. */
export class TopicFull extends RoutingFailure {
  override readonly name = "TopicFull";
  constructor(
    readonly partition: number,
    readonly detail: string,
    /** How long a producer should wait before trying again. */
    readonly retryAfterSeconds: number,
  ) {
    super(`partition ${partition} is full: ${detail}`);
  }
}

/** A partition answered fewer results than it was sent messages (a bug, never the caller's fault). */
export class PartitionAnswerShort extends RoutingFailure {
  override readonly name = "PartitionAnswerShort";
  constructor() {
    super("a partition answered too few results");
  }
}

/**
 * Calls an object and turns a failure of the platform (object overloaded, reset, network)
 * into PartitionUnavailable, logged once here.
 */
export async function callPartition<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(JSON.stringify({ event: "partition_call_failed", message }));
    throw new PartitionUnavailable(message);
  }
}
