/**
 * Long-poll waiters parked on a partition, per subscription. A waiter learns only that the
 * subscription has something ready here; it leases nothing, so a waiter whose caller has
 * gone away costs nothing but its timer.
 */
export class Waiters {
  private readonly bySubscription = new Map<string, Set<(ready: boolean) => void>>();

  /** Resolves true when `wake(uid)` is called, or false after `timeoutMs`. */
  wait(uid: string, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      let set = this.bySubscription.get(uid);
      if (!set) this.bySubscription.set(uid, (set = new Set()));
      const done = (ready: boolean): void => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.bySubscription.get(uid) === set) this.bySubscription.delete(uid);
        resolve(ready);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      set.add(done);
    });
  }

  wake(uid: string): void {
    for (const done of [...(this.bySubscription.get(uid) ?? [])]) done(true);
  }

  wakeAll(ready = true): void {
    for (const set of [...this.bySubscription.values()]) for (const done of [...set]) done(ready);
  }
}
