import { describe, expect, it } from "vitest";
import { allows, parseScope, patternMatches, type Scope } from "../../src/shared/scopes";

const scope = (text: string): Scope => {
  const parsed = parseScope(text);
  if ("problem" in parsed) throw new Error(parsed.problem);
  return parsed;
};

// pattern → topics it matches, and topics it does not.
const forms: { form: string; pattern: string; allowed: string[]; refused: string[] }[] = [
  { form: "a literal name", pattern: "orders", allowed: ["orders"], refused: ["Orders", "orders2", "orders.eu", "order", "x.orders"] },
  { form: "a dotted literal", pattern: "orders.eu", allowed: ["orders.eu"], refused: ["orders", "orders.eu.paid", "orders.us"] },
  { form: "* as the last segment", pattern: "orders.*", allowed: ["orders.eu", "orders.dlq", "orders.a-b_c"], refused: ["orders", "orders.", "orders.eu.paid", "ordersx.eu"] },
  { form: "* in the middle", pattern: "orders.*.paid", allowed: ["orders.eu.paid"], refused: ["orders.paid", "orders..paid", "orders.eu.us.paid", "orders.eu.paid.x"] },
  { form: "* alone", pattern: "*", allowed: ["orders", "a"], refused: ["orders.eu", ".x", ""] },
  { form: "** as the last segment", pattern: "orders.**", allowed: ["orders.eu", "orders.eu.paid", "orders.x.y.z"], refused: ["orders", "ordersx.eu", "x.orders.eu"] },
  { form: "** alone", pattern: "**", allowed: ["orders", "orders.eu.paid", ".x", "a..b"], refused: [] },
  { form: "* then **", pattern: "*.dlq.**", allowed: ["orders.dlq.x", "a.dlq.b.c"], refused: ["orders.dlq", "dlq.x", ".dlq.x"] },
];

describe("topic patterns", () => {
  it.each(forms)("$form ($pattern) matches exactly its topics", ({ pattern, allowed, refused }) => {
    for (const topic of allowed) expect(patternMatches(pattern, topic), `${pattern} ~ ${topic}`).toBe(true);
    for (const topic of refused) expect(patternMatches(pattern, topic), `${pattern} !~ ${topic}`).toBe(false);
  });

  it.each(["ord*", "*s", "orders.**.paid", "orders.***", "orders .eu", "orders/eu", "", "é"])(
    "refuses %j as a pattern",
    (pattern) => {
      expect("problem" in parseScope(`consume:${pattern}`)).toBe(true);
    },
  );

  it.each(["admins", "Admin", "read:orders", "produce", "consume:", "produce:orders:x", "publish:orders"])(
    "refuses %j as a scope",
    (text) => {
      expect("problem" in parseScope(text)).toBe(true);
    },
  );
});

describe("scopes", () => {
  it("let admin do everything on every topic", () => {
    const scopes = [scope("admin")];
    expect(allows(scopes, "admin", null)).toBe(true);
    expect(allows(scopes, "produce", "anything")).toBe(true);
    expect(allows(scopes, "consume", "x.y")).toBe(true);
  });

  it("let produce and consume do only their own action", () => {
    const scopes = [scope("produce:orders"), scope("consume:payments.*")];
    expect(allows(scopes, "produce", "orders")).toBe(true);
    expect(allows(scopes, "consume", "orders")).toBe(false);
    expect(allows(scopes, "consume", "payments.eu")).toBe(true);
    expect(allows(scopes, "produce", "payments.eu")).toBe(false);
    expect(allows(scopes, "admin", null)).toBe(false);
  });

  it("grant nothing on a topic the path did not name", () => {
    expect(allows([scope("produce:**")], "produce", null)).toBe(false);
  });
});
