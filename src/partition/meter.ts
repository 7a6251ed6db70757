/**
 * Rows written and read by a partition's SQL, as Cloudflare bills them: every cursor's
 * `rowsWritten` and `rowsRead` (index entries included), summed. The cursors of one synchronous
 * turn are added up in a microtask after it, when every one of them has been read to its end or
 * dropped (a partition never keeps a cursor across an await). Counts since the object started.
 */
export class RowMeter {
  written = 0;
  read = 0;
  private pending: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];

  /** `storage` with its `sql` counted by this meter; everything else is the storage itself. */
  wrap(storage: DurableObjectStorage): DurableObjectStorage {
    const sql = this.wrapSql(storage.sql);
    return new Proxy(storage, {
      get(target, property) {
        if (property === "sql") return sql;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private wrapSql(sql: SqlStorage): SqlStorage {
    const exec = <T extends Record<string, SqlStorageValue>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> => {
      const cursor = sql.exec<T>(query, ...bindings);
      if (this.pending.length === 0) queueMicrotask(() => this.settle());
      this.pending.push(cursor as unknown as SqlStorageCursor<Record<string, SqlStorageValue>>);
      return cursor;
    };
    return new Proxy(sql, {
      get(target, property) {
        if (property === "exec") return exec;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** Adds up the cursors opened since the last call. */
  settle(): void {
    for (const cursor of this.pending) {
      this.written += cursor.rowsWritten;
      this.read += cursor.rowsRead;
    }
    this.pending = [];
  }

  /** The counts so far, with every finished cursor added. */
  snapshot(): { rowsWritten: number; rowsRead: number } {
    this.settle();
    return { rowsWritten: this.written, rowsRead: this.read };
  }
}
