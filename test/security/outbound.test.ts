import { describe, expect, it } from "vitest";
import { checkDestination, signatureHeader, signedPost, verifySignature } from "../../src/shared/outbound";

const refused = [
  // loopback
  "https://127.0.0.1/", "https://127.8.9.10/", "https://2130706433/", "https://0x7f.1/", "https://127.1/",
  "https://localhost/", "https://LOCALHOST./", "https://api.localhost/", "https://[::1]/", "https://[0:0:0:0:0:0:0:1]/",
  // private, link-local, reserved
  "https://10.0.0.1/", "https://10.255.255.255/", "https://172.16.0.1/", "https://172.31.255.255/", "https://192.168.1.1/",
  "https://169.254.169.254/latest/meta-data", "https://0.0.0.0/", "https://100.64.0.1/", "https://224.0.0.1/",
  "https://255.255.255.255/", "https://198.18.0.1/", "https://192.0.2.1/",
  // IPv6
  "https://[::]/", "https://[fc00::1]/", "https://[fd12:3456::1]/", "https://[fe80::1]/", "https://[febf::1]/",
  "https://[ff02::1]/", "https://[2001:db8::1]/", "https://[::ffff:127.0.0.1]/", "https://[::ffff:10.0.0.1]/",
  "https://[::ffff:7f00:1]/", "https://[::127.0.0.1]/", "https://[64:ff9b::10.0.0.1]/", "https://[2002:c0a8:0101::1]/",
  // local names, odd URLs
  "https://metadata/", "https://printer.local/", "https://db.internal/", "https://nas.home.arpa/", "https://box.localdomain/",
  "https://user:pass@example.com/", "ftp://example.com/", "file:///etc/passwd", "http://example.com/", "not a url", "",
];

const allowed = [
  "https://example.com/check", "https://api.example.com:8443/tx?x=1", "https://8.8.8.8/", "https://172.32.0.1/",
  "https://192.169.0.1/", "https://[2606:4700:4700::1111]/", "https://[::ffff:8.8.8.8]/", "https://[2002:0808:0808::1]/",
];

describe("outbound destinations", () => {
  it.each(refused)("refuses %s", (url) => {
    const d = checkDestination(url, { allowLoopback: false });
    expect(d.ok).toBe(false);
  });

  it.each(allowed)("allows %s", (url) => {
    expect(checkDestination(url, { allowLoopback: false }).ok).toBe(true);
  });

  it("allows loopback, over http too, only with the local-development flag", () => {
    for (const url of ["http://127.0.0.1:9000/check", "http://localhost:9000/", "https://[::1]/", "http://[::ffff:127.0.0.1]/"]) {
      expect(checkDestination(url, { allowLoopback: true }).ok, url).toBe(true);
      expect(checkDestination(url, { allowLoopback: false }).ok, url).toBe(false);
    }
    for (const url of ["https://10.0.0.1/", "https://169.254.169.254/", "http://example.com/", "https://[fe80::1]/"]) {
      expect(checkDestination(url, { allowLoopback: true }).ok, url).toBe(false);
    }
  });

  it("never sends to a refused address", async () => {
    await expect(signedPost({ OUTBOUND_SIGNING_SECRET: "s" }, "https://169.254.169.254/", "{}")).rejects.toThrow(/private/);
    await expect(signedPost({}, "https://example.com/", "{}")).rejects.toThrow(/OUTBOUND_SIGNING_SECRET/);
  });
});

describe("signatures of outbound requests", () => {
  // The worked example of docs/security.md.
  const secret = "whsec-example-only";
  const body = '{"transaction":"TX1","topic":"orders"}';
  const mac = "0cd868f5f0cc4fadf9ee150f1eaac06942e05b45cfb80eb58f6d258676950c26";
  const header = `t=1700000000,v1=${mac}`;

  it("are one Weir-Signature header that matches the documented example", async () => {
    expect(await signatureHeader(secret, body, 1_700_000_000)).toEqual({ "weir-signature": header });
  });

  it("verify for the receiver, within the tolerance only", async () => {
    expect(await verifySignature(secret, body, header, 1_700_000_100)).toBe(true);
    expect(await verifySignature(secret, body, `v1=${mac}, t=1700000000`, 1_700_000_000)).toBe(true);
    expect(await verifySignature(secret, body, `t=1700000000,v1=${"0".repeat(64)},v1=${mac}`, 1_700_000_000)).toBe(true);
    expect(await verifySignature(secret, body, header, 1_700_000_301)).toBe(false);
    expect(await verifySignature(secret, body + " ", header, 1_700_000_000)).toBe(false);
    expect(await verifySignature("other", body, header, 1_700_000_000)).toBe(false);
    expect(await verifySignature(secret, body, `t=1700000001,v1=${mac}`, 1_700_000_000)).toBe(false);
    expect(await verifySignature(secret, body, "t=1700000000,v1=zz", 1_700_000_000)).toBe(false);
    expect(await verifySignature(secret, body, `v1=${mac}`, 1_700_000_000)).toBe(false);
  });
});
