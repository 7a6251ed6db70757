import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Weir } from "../src/index.js";
import { startWeir } from "../src/testing/index.js";

describe("startWeir", () => {
  it("starts a fresh Weir on a free port in seconds, with the given admin token", async () => {
    const started = Date.now();
    const a = await startWeir({ token: "secret-a" });
    // 1.6 s on an idle 2-core machine (docs/client.md); the bound only catches a start that
    // does real work (a build, a download), not a busy machine.
    expect(Date.now() - started).toBeLessThan(30_000);
    const b = await startWeir();
    try {
      expect(a.url).not.toBe(b.url);
      expect(a.token).toBe("secret-a");
      expect((await fetch(`${a.url}/healthz`)).status).toBe(200);
      await new Weir({ url: a.url, token: "secret-a" }).putTopic("only-in-a");
      expect(await new Weir({ url: b.url, token: b.token }).listTopics()).toEqual([]);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  it("keeps the catalog and the messages in a given folder across restarts", async () => {
    const persist = mkdtempSync(join(tmpdir(), "weir-client-"));
    try {
      const first = await startWeir({ persist });
      const weir = new Weir({ url: first.url, token: first.token });
      await weir.putTopic("kept", { partitions: 2 });
      await weir.putSubscription("kept", "s", { start_position: "earliest" });
      await weir.produce("kept", [{ key: "k", body: "still here" }]);
      await first.stop();

      const second = await startWeir({ persist });
      try {
        const again = new Weir({ url: second.url, token: second.token });
        expect((await again.getTopic("kept")).partitions).toBe(2);
        expect((await again.receive("kept", "s")).messages.map((m) => m.body)).toEqual(["still here"]);
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(persist, { recursive: true, force: true });
    }
  });

  it("runs the scheduled handler once with runCron()", async () => {
    const server = await startWeir();
    try {
      const weir = new Weir({ url: server.url, token: server.token });
      await weir.putTopic("busy");
      await weir.putSubscription("busy", "s", { start_position: "earliest", surge: { enabled: true, trigger_depth: 10 } });
      await weir.produce("busy", Array.from({ length: 20 }, (_, i) => ({ body: i })));
      expect((await weir.getSubscription("busy", "s")).surge.state).toBe("off");
      await server.runCron();
      expect((await weir.getSubscription("busy", "s")).surge.state).toBe("active");
    } finally {
      await server.stop();
    }
  });

  it("stops twice without complaint", async () => {
    const server = await startWeir();
    await server.stop();
    await server.stop();
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
