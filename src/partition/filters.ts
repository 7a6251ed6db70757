import type { HeaderFilter } from "../shared/partition-api";
import type { StoredMessage } from "./segments";

/** Whether every header of `filter` has its value on `m`. */
export function matches(m: StoredMessage, filter: HeaderFilter): boolean {
  const headers = m.headers ? (JSON.parse(m.headers) as Record<string, string>) : {};
  return Object.entries(filter).every(([name, value]) => headers[name] === value);
}

/**
 * Per (subscription, filter): the offset before which no new message matches the filter and is
 * untaken. Headers never change, so a message that did not match never will: the point only
 * moves forward, and a seek forgets it. In memory: after a restart a filter starts at the cursor.
 */
export class FilterResume {
  private readonly points = new Map<string, number>();

  get(uid: string, filter: HeaderFilter): number | undefined {
    return this.points.get(key(uid, filter));
  }

  set(uid: string, filter: HeaderFilter, offset: number): void {
    this.points.set(key(uid, filter), offset);
  }

  forget(uid: string): void {
    for (const k of [...this.points.keys()]) if (k.startsWith(`${uid}\u0000`)) this.points.delete(k);
  }
}

function key(uid: string, filter: HeaderFilter): string {
  return `${uid}\u0000${JSON.stringify(Object.entries(filter).sort())}`;
}
