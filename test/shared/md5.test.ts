import { describe, expect, it } from "vitest";
import { hex } from "../../src/shared/encoding";
import { md5 } from "../../src/shared/md5";

describe("md5", () => {
  it("matches the test suite of RFC 1321", () => {
    const vectors: [string, string][] = [
      ["", "d41d8cd98f00b204e9800998ecf8427e"],
      ["a", "0cc175b9c0f1b6a831c399e269772661"],
      ["abc", "900150983cd24fb0d6963f7d28e17f72"],
      ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
      ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
      ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
      [
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
        "57edf4a22be3c955ac49da2e2107b67a",
      ],
    ];
    for (const [input, digest] of vectors) expect(hex(md5(input))).toBe(digest);
  });

  it("hashes the UTF-8 bytes of text, across block boundaries", () => {
    expect(hex(md5("The quick brown fox jumps over the lazy dog"))).toBe("9e107d9d372bb6826bd81d3542a419d6");
    // 55, 56 and 64 bytes: where the length no longer fits in the first block's padding.
    expect(hex(md5("a".repeat(55)))).toBe("ef1772b6dff9a122358552954ad0df65");
    expect(hex(md5("a".repeat(56)))).toBe("3b0c8ac703f828b04c6c197006d17218");
    expect(hex(md5("a".repeat(64)))).toBe("014842d480b571495a4a0363793f7367");
    expect(hex(md5("é"))).toBe(hex(md5(new Uint8Array([0xc3, 0xa9]))));
  });
});
