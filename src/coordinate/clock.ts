/** Where coordinate-ts reads the time; inject a FakeClock in tests so time moves only when told. */
export interface Clock {
  /** The current time. */
  now(): Date
}

/** The wall clock. */
export const systemClock: Clock = { now: () => new Date() }

/** A clock that starts at the Unix epoch (or `start`) and moves only through advance() and set(). */
export class FakeClock implements Clock {
  #ms: number

  constructor(start: Date | number = 0) {
    this.#ms = typeof start === 'number' ? start : start.getTime()
  }

  /** The fake current time. */
  now(): Date {
    return new Date(this.#ms)
  }

  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#ms += ms
  }

  /** Puts the clock at an absolute time. */
  set(time: Date | number): void {
    this.#ms = typeof time === 'number' ? time : time.getTime()
  }
}

/** Milliseconds in a second, a minute and an hour, for readable durations. */
export const SECOND = 1000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE

/** The lease an attempt gets when nobody asks for another: 15 minutes, as in every predecessor. */
export const DEFAULT_LEASE_MS = 15 * MINUTE
