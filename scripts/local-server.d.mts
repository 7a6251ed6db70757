export function freePort(): Promise<number>;

export interface LocalServer {
  url: string;
  port: number;
  state: string;
  pid: number;
  /** Everything the server printed so far. */
  log(): string;
  /** Stops the server and, if the state folder was made by startServer, removes it. */
  stop(): Promise<void>;
  /** Kills the whole process group with SIGKILL, leaving the state as it is. */
  kill(): Promise<void>;
}

export function startServer(options?: { state?: string; port?: number; vars?: Record<string, string> }): Promise<LocalServer>;

/** Resident memory of the workerd process(es) in a server's process group, in MiB (Linux /proc). */
export function workerdRssMiB(groupLeader: number): number;
