import { execFileSync, spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type LocalServer } from "../../scripts/local-server.mjs";

/**
 * Whether this machine's python3 has a boto3 that speaks SQS's JSON protocol (botocore from
 * late 2023 on). Neither npm nor Debian ships one (Debian's speaks the query protocol, which
 * Weir does not answer), so the test runs where a developer installed it and is skipped
 * elsewhere, saying so.
 */
function boto3WithJsonProtocol(): boolean {
  const probe = spawnSync(
    "python3",
    ["-c", "import botocore.session as s; print(s.get_session().get_service_model('sqs').metadata['protocol'])"],
    { encoding: "utf8" },
  );
  return probe.status === 0 && probe.stdout.trim() === "json";
}

const HAS_BOTO3 = boto3WithJsonProtocol();
if (!HAS_BOTO3) console.warn("test/e2e/sqs-boto3.test.ts skipped: python3 has no boto3 that speaks SQS's JSON protocol");

describe.skipIf(!HAS_BOTO3)("the SQS-compatible endpoint, spoken to by boto3", () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("creates, sends, receives, deletes and reads attributes, with SQS's errors", () => {
    const out = execFileSync("python3", ["test/e2e/boto3-sqs.py", server.url, `boto-${Date.now().toString(36)}`], {
      encoding: "utf8",
      timeout: 60_000,
    });
    const seen = JSON.parse(out.trim().split("\n").at(-1)!);
    expect(seen).toMatchObject({
      bodyMd5Matches: true,
      batchSuccessful: ["x"],
      bodies: ["héllo ✓ from boto3", "second"].sort(),
      attributes: { n: "3", b: "00ff" },
      receiveCount: "1",
      visibilityTimeout: "40",
      depthAfterDelete: "0",
      missing: "AWS.SimpleQueueService.NonExistentQueue",
    });
    expect(seen.queueUrl.startsWith(server.url)).toBe(true);
  });
});
