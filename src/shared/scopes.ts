// What an API key may do. docs/security.md states these rules for users; keep the two together.
//
//   admin                 everything, on every topic
//   produce:<pattern>     produce to and cancel messages of the topics the pattern matches
//   consume:<pattern>     receive, ack, nack, extend, seek, redrive and read stats of those topics
//   metrics               read GET /metrics (every topic's counts; no message content)
//
// A message's trace (GET /v1/topics/{topic}/messages/{id}) needs produce or consume on its topic.
//
// A pattern is a topic name cut at its dots into segments. A literal segment matches itself
// (case-sensitive); `*` matches exactly one non-empty segment; `**`, only as the last
// segment, matches one or more segments of any content. So `orders.*` matches `orders.eu` but
// neither `orders` nor `orders.eu.paid`; `orders.**` matches both of the latter two but not
// `orders`; `**` matches every topic. A segment that mixes `*` with other characters (`ord*`)
// is not a pattern and is refused when the key is made.

export type TopicAction = "produce" | "consume";

export type Scope = { kind: "admin" } | { kind: "metrics" } | { kind: TopicAction; pattern: string };

export const MAX_SCOPE_LENGTH = 160;

const LITERAL_SEGMENT = /^[A-Za-z0-9_-]*$/;

/** The scope `text` names, or a sentence saying why it is not one. */
export function parseScope(text: string): Scope | { problem: string } {
  if (text === "admin") return { kind: "admin" };
  if (text === "metrics") return { kind: "metrics" };
  const colon = text.indexOf(":");
  const action = text.slice(0, colon);
  if (colon < 0 || (action !== "produce" && action !== "consume")) {
    return { problem: "must be admin, metrics, produce:<topic pattern> or consume:<topic pattern>" };
  }
  const pattern = text.slice(colon + 1);
  const problem = patternProblem(pattern);
  return problem === null ? { kind: action, pattern } : { problem };
}

function patternProblem(pattern: string): string | null {
  if (pattern.length === 0) return "the topic pattern is empty";
  if (pattern.length > MAX_SCOPE_LENGTH) return `the topic pattern is longer than ${MAX_SCOPE_LENGTH} characters`;
  const segments = pattern.split(".");
  for (const [i, segment] of segments.entries()) {
    if (segment === "*") continue;
    if (segment === "**") {
      if (i !== segments.length - 1) return "** may only be the last segment";
      continue;
    }
    if (!LITERAL_SEGMENT.test(segment)) {
      return `segment "${segment}" must be *, ** or characters of A-Z a-z 0-9 _ - (a topic name cut at its dots)`;
    }
  }
  return null;
}

/** Whether the (valid) `pattern` matches `topic`, by the rules at the top of this file. */
export function patternMatches(pattern: string, topic: string): boolean {
  const want = pattern.split(".");
  const have = topic.split(".");
  for (let i = 0; i < want.length; i++) {
    const segment = want[i]!;
    if (segment === "**") return have.length > i;
    if (i >= have.length) return false;
    if (segment === "*") {
      if (have[i] === "") return false;
    } else if (segment !== have[i]) return false;
  }
  return want.length === have.length;
}

/** Whether `scopes` let their holder do `action` on `topic`; `admin` lets it do anything. */
export function allows(scopes: readonly Scope[], action: TopicAction | "admin" | "metrics", topic: string | null): boolean {
  return scopes.some((scope) => {
    if (scope.kind === "admin") return true;
    if (scope.kind === "metrics") return action === "metrics";
    if (scope.kind !== action || topic === null) return false;
    return patternMatches(scope.pattern, topic);
  });
}

/** The text form of a scope, as keys store and show it. */
export function formatScope(scope: Scope): string {
  return scope.kind === "admin" || scope.kind === "metrics" ? scope.kind : `${scope.kind}:${scope.pattern}`;
}
