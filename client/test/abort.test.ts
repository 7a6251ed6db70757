import { describe, expect, it } from "vitest";
import { untilAborted } from "../src/abort.js";
import { ndjson } from "../src/ndjson.js";

/** A read that never settles, as Node's fetch leaves a body read an abort interrupts (nodejs/node#56917). */
const never = <T>() => new Promise<T>(() => undefined);

describe("untilAborted", () => {
  it("rejects with the signal's reason when it aborts during a read that never settles", async () => {
    const controller = new AbortController();
    const read = untilAborted(never<string>(), controller.signal);
    controller.abort(new Error("stopped"));
    await expect(read).rejects.toThrow("stopped");
  });

  it("rejects at once when the signal has already aborted", async () => {
    const controller = new AbortController();
    controller.abort(new Error("already"));
    await expect(untilAborted(never<string>(), controller.signal)).rejects.toThrow("already");
  });

  it("answers the read's value, or its error, when it settles first", async () => {
    const controller = new AbortController();
    await expect(untilAborted(Promise.resolve("text"), controller.signal)).resolves.toBe("text");
    await expect(untilAborted(Promise.reject(new Error("read failed")), controller.signal)).rejects.toThrow("read failed");
    await expect(untilAborted(Promise.resolve(1), undefined)).resolves.toBe(1);
  });

  it("leaves no unhandled rejection behind when the abandoned read fails later", async () => {
    const failures: ((error: Error) => void)[] = [];
    const failing = () => new Promise<string>((_, reject) => failures.push(reject));
    // Aborted during the read, and before it.
    const during = new AbortController();
    const raced = untilAborted(failing(), during.signal);
    during.abort(new Error("stopped"));
    await expect(raced).rejects.toThrow("stopped");
    const before = new AbortController();
    before.abort(new Error("stopped before"));
    await expect(untilAborted(failing(), before.signal)).rejects.toThrow("stopped before");
    for (const fail of failures) fail(new Error("the read failed after all"));
    // vitest fails the run on an unhandled rejection: give it the turns to surface.
    await new Promise((resolve) => setTimeout(resolve, 20));
  });
});

describe("ndjson", () => {
  it("stops with the signal's reason when it aborts while a line is awaited", async () => {
    const encoder = new TextEncoder();
    // One line, then nothing more ever.
    const body = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(encoder.encode('{"n":1}\n')) });
    const controller = new AbortController();
    const lines: unknown[] = [];
    const reading = (async () => {
      for await (const line of ndjson(body, controller.signal)) {
        lines.push(line);
        controller.abort(new Error("stopped"));
      }
    })();
    await expect(reading).rejects.toThrow("stopped");
    expect(lines).toEqual([{ n: 1 }]);
  });
});
