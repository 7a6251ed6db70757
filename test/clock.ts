import type { Clock } from "../src/shared/clock";

/** A clock that runs with real time plus an offset that tests advance. */
export class ShiftedClock implements Clock {
  private offsetMs = 0;
  now(): number {
    return Date.now() + this.offsetMs;
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
