/** Every time read of a partition or a doorbell goes through its clock, so that tests can move time. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
