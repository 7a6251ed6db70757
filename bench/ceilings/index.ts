// The ceilings Weir is measured against (docs/performance.md): what the local runtime does with
// no queue logic at all. Every route answers with a tiny JSON body, as Weir does.
//   GET  /noop          the Worker answers at once
//   GET  /object/noop   the Worker calls a Durable Object method that returns at once
//   POST /object/echo   the Worker parses {"messages":[{body}]} and hands them to the object,
//                       which only counts them: the cost of moving the payload, no SQL
//   POST /object/insert the same, and the object inserts one row per message in one transaction
//   POST /object/segment the same, and the object inserts the whole batch as one row (JSON text
//                       of its bodies), as Weir's log keeps a produce batch: its storage floor
//   POST /object/ring   the object inserts the one message as a row and hands it to a waiting
//                       stream of /object/stream, as a partition rings a waiting consumer
//   POST /object/stream?count=N  a streaming response of N lines, each the body of a message
//                       the object handed it (the stream floor of issue 19: produce → a
//                       waiting stream, with nothing of a queue between them)
//   POST /object/acks?objects=a,b  the stream floor's acks: one request, one no-op call to each
//                       object named (as an ack of several partitions' receipts calls each once)
// The request bodies are the same shape as Weir's produce, so the ratios compare like with like.
import { DurableObject } from "cloudflare:workers";

interface Env {
  SINK: DurableObjectNamespace<Sink>;
}

interface Message {
  body: unknown;
}

export class Sink extends DurableObject<Env> {
  private next = 0;

  /** Streams waiting for a message, first come first served; and messages no stream waited for. */
  private waiting: ((body: string) => void)[] = [];
  private unclaimed: string[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS rows (n INTEGER PRIMARY KEY, body TEXT NOT NULL)");
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS segments (n INTEGER PRIMARY KEY, bodies TEXT NOT NULL)");
    this.next = Number(ctx.storage.sql.exec("SELECT COALESCE(MAX(n), -1) + 1 AS next FROM rows").one().next);
  }

  noop(): number {
    return 0;
  }

  echo(bodies: string[]): number {
    return bodies.length;
  }

  /** Inserts one row per body in one transaction, as Weir's append does; returns the count. */
  insert(bodies: string[]): number {
    const sql = this.ctx.storage.sql;
    this.ctx.storage.transactionSync(() => {
      for (const body of bodies) sql.exec("INSERT INTO rows (n, body) VALUES (?, ?)", this.next++, body);
    });
    return bodies.length;
  }

  /** Inserts one row and hands its body to the stream that has waited longest (or keeps it for the next). */
  ring(bodies: string[]): number {
    const body = bodies[0] ?? "null";
    this.ctx.storage.transactionSync(() => this.ctx.storage.sql.exec("INSERT INTO rows (n, body) VALUES (?, ?)", this.next++, body));
    const stream = this.waiting.shift();
    if (stream) stream(body);
    else this.unclaimed.push(body);
    return 1;
  }

  /** The next message ring() stores: at once if one is kept, else when it comes. */
  nextRung(): Promise<string> {
    const kept = this.unclaimed.shift();
    if (kept !== undefined) return Promise.resolve(kept);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Inserts the batch as one row (SQLite numbers it), in one transaction; returns the count. */
  segment(bodies: string[]): number {
    this.ctx.storage.transactionSync(() => this.ctx.storage.sql.exec("INSERT INTO segments (bodies) VALUES (?)", JSON.stringify(bodies)));
    return bodies.length;
  }
}

/** One object per name: `?object=k` lets the bench spread load over several objects. */
function sink(env: Env, url: URL): DurableObjectStub<Sink> {
  return env.SINK.get(env.SINK.idFromName(url.searchParams.get("object") ?? "0"));
}

async function bodies(request: Request): Promise<string[]> {
  const { messages } = (await request.json()) as { messages: Message[] };
  return messages.map((m) => JSON.stringify(m.body));
}

/** `count` lines, each a message's body as the object hands it over; written as they come. */
function stream(object: DurableObjectStub<Sink>, count: number): Response {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  void (async () => {
    for (let i = 0; i < count; i++) await writer.write(encoder.encode(`${await object.nextRung()}\n`));
    await writer.close();
  })();
  return new Response(readable, { headers: { "content-type": "application/x-ndjson" } });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/noop":
        return Response.json({ ok: true });
      case "/object/noop":
        return Response.json({ ok: true, n: await sink(env, url).noop() });
      case "/object/echo":
        return Response.json({ ok: true, n: await sink(env, url).echo(await bodies(request)) });
      case "/object/insert":
        return Response.json({ ok: true, n: await sink(env, url).insert(await bodies(request)) });
      case "/object/ring":
        return Response.json({ ok: true, n: await sink(env, url).ring(await bodies(request)) });
      case "/object/acks": {
        const names = (url.searchParams.get("objects") ?? "").split(",").filter((name) => name !== "");
        const calls = await Promise.all(names.map((name) => env.SINK.get(env.SINK.idFromName(name)).noop()));
        return Response.json({ ok: true, n: calls.length });
      }
      case "/object/stream":
        return stream(sink(env, url), Number(url.searchParams.get("count") ?? "1"));
      case "/object/segment":
        return Response.json({ ok: true, n: await sink(env, url).segment(await bodies(request)) });
      default:
        return Response.json({ error: "no such route" }, { status: 404 });
    }
  },
} satisfies ExportedHandler<Env>;
