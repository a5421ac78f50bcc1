import { setTimeout } from 'node:timers/promises'
import { CompiledQuery, type Kysely, type RawBuilder, type Transaction } from 'kysely'
import type { Clock } from '../coordinate/clock.js'
import { backoffDelay } from '../coordinate/backoff.js'
import { ClosedError, DatabaseUnavailableError, GoneError } from '../coordinate/errors.js'
import { isPgError } from './migrate.js'
import { RememberedChoices } from './remembered-choices.js'
import type { DeferredNotifications } from './deferred-notifications.js'
import { connectRefused, connectionFailure, isReadOnlyStatement, unavailable } from './connection-failure.js'
import { DatabaseHealth } from './database-health.js'

/** The name the pool's statements report to DatabaseHealth under. */
const POOL = 'pool'

/** Something queries run on: the database or an open transaction. */
export type Executor = Kysely<unknown> | Transaction<unknown>

/**
 * Runs one parameterised statement on the pool, past Kysely, as a named prepared statement.
 * Only the claim and completion calls use it: at one unit per call, Kysely's per-query work
 * (compiling the template, acquiring and wrapping the connection) is a large share of the
 * claim path's Node CPU (docs/design.md, "Concurrency").
 */
export type DirectQuery = (text: string, values: readonly unknown[]) => Promise<unknown[]>

/** The database, the clock, and the error mapping every handle of one Coordinate shares. */
// How often a statement that lost its connection is tried again, when that cannot apply it twice,
// unless the pool's size says otherwise: every connection it held may be dead after a restart.
const SAFE_RETRIES = 3
// A statement of its own that Postgres aborted to break a deadlock was rolled back whole, and
// the writer it collided with has gone on, so it runs again (a few times at most). Not at
// once: run at once, it can take back the lock the other writer was woken for, and close the
// same cycle again. A few milliseconds, jittered and doubling (10–20, 20–40, 40–80 ms), let the
// other writer go first.
const DEADLOCK_RETRIES = 3
const DEADLOCK_BACKOFF_MS = 20
const DEADLOCK_BACKOFF_MAX_MS = 80
const DEADLOCK_DETECTED = '40P01'

export class Store {
  #closed = false
  #deadlockRetries = 0
  /** Scheduler choices that meta alone decided, for one-round-trip claims. */
  readonly choices = new RememberedChoices()

  constructor(
    readonly db: Kysely<unknown>,
    readonly clock: Clock,
    /** Where the claim and completion paths announce their changes; absent when notifications are off. */
    readonly notifications?: DeferredNotifications,
    /** The pool's own query function, when there is a pool (not for PGlite). */
    private readonly direct?: DirectQuery,
    /** Where lost and recovered connections are reported. */
    readonly health: DatabaseHealth = new DatabaseHealth(),
    /** Tries after a lost connection: one more than the pool holds, so one reaches a new connection. */
    private readonly safeRetries: number = SAFE_RETRIES,
  ) {}

  /** How many statements ran again after Postgres picked them as a deadlock victim: 0 while every writer takes its locks in one order. */
  get deadlockRetries(): number {
    return this.#deadlockRetries
  }

  /** The current time according to the injected clock. */
  now(): Date {
    return this.clock.now()
  }

  /** Runs one statement and returns its rows, mapping Postgres errors to coordinate errors. */
  rows<T>(query: RawBuilder<T>, executor: Executor = this.db): Promise<T[]> {
    return this.#rows(query, executor, false)
  }

  /**
   * Runs a get-or-create statement on the pool and returns its first row. Running it twice has
   * the effect of running it once, so a dropped connection repeats it as it repeats a read.
   */
  async getOrCreate<T>(query: RawBuilder<T>): Promise<T | undefined> {
    return (await this.#rows(query, this.db, true))[0]
  }

  async #rows<T>(query: RawBuilder<T>, executor: Executor, repeatable: boolean): Promise<T[]> {
    this.#checkOpen()
    const run = async (): Promise<T[]> => (await query.execute(executor)).rows
    try {
      const rows = await run()
      this.health.ok(POOL)
      return rows
    } catch (error) {
      return this.#afterFailure(error, executor === this.db, () => repeatable || isReadOnlyStatement(query.compile(executor).sql), run)
    }
  }

  /**
   * Runs a fixed statement text with positional parameters and returns its rows: straight on
   * the pool when it can, in `executor` when that is a transaction, else through Kysely.
   */
  async call<T>(text: string, values: readonly unknown[], executor?: Transaction<unknown>): Promise<T[]> {
    this.#checkOpen()
    const run = async (): Promise<T[]> => {
      if (executor === undefined && this.direct) return (await this.direct(text, values)) as T[]
      return (await (executor ?? this.db).executeQuery<T>(CompiledQuery.raw(text, [...values]))).rows
    }
    try {
      const rows = await run()
      this.health.ok(POOL)
      return rows
    } catch (error) {
      return this.#afterFailure(error, executor === undefined, () => isReadOnlyStatement(text), run)
    }
  }

  /** Runs one statement and returns its first row, or undefined. */
  async row<T>(query: RawBuilder<T>, executor: Executor = this.db): Promise<T | undefined> {
    return (await this.rows(query, executor))[0]
  }

  /**
   * Runs `fn` in a transaction; every query inside must use the transaction it is given. A
   * transaction Postgres aborted to break a deadlock was rolled back whole, so `fn` runs again,
   * as a statement of its own does (#afterDeadlock).
   */
  async transaction<T>(fn: (trx: Transaction<unknown>) => Promise<T>): Promise<T> {
    this.#checkOpen()
    // Counted apart: a deadlock victim's rerun must not use up the tries a lost connection gets.
    let connectionLosses = 0
    for (let deadlocks = 0; ; ) {
      let committing = false
      try {
        const result = await this.db.transaction().execute(async (trx) => {
          const value = await fn(trx)
          committing = true
          return value
        })
        this.health.ok(POOL)
        return result
      } catch (error) {
        if (await this.#afterDeadlock(error, deadlocks)) {
          deadlocks++
          continue
        }
        const cause = error instanceof DatabaseUnavailableError && error.cause instanceof Error ? error.cause : error
        if (connectionFailure(cause) === undefined) throw mapError(error)
        this.health.lost(POOL, cause)
        // Lost during COMMIT: it may have happened. Lost before: the server rolled it all back.
        if (committing) throw unavailable(cause as Error, 'unknown')
        if (++connectionLosses >= this.safeRetries || connectRefused(cause)) throw unavailable(cause as Error, 'no')
      }
    }
  }

  /**
   * A statement failed. If the connection was lost, repeat it (up to `safeRetries` times) when
   * that is safe (it never reached the server, or `repeatable` says running it again changes
   * nothing: a read or a get-or-create); else say the database was
   * unavailable, and whether the statement may have taken effect. Inside a transaction, leave that to transaction().
   * A statement of its own chosen as a deadlock victim runs again (DEADLOCK_RETRIES).
   */
  async #afterFailure<T>(error: unknown, ownStatement: boolean, repeatable: () => boolean, again: () => Promise<T>, deadlocks = 0): Promise<T> {
    if (ownStatement && (await this.#afterDeadlock(error, deadlocks))) {
      try {
        return await again()
      } catch (next) {
        return this.#afterFailure(next, ownStatement, repeatable, again, deadlocks + 1)
      }
    }
    const failure = connectionFailure(error)
    if (failure === undefined) throw mapError(error)
    this.health.lost(POOL, error)
    if (!ownStatement) throw unavailable(error as Error, 'unknown')
    // Refused: the server is not taking connections (down, or starting up). Trying again at once
    // would be refused too, and while it is down every request would cost `safeRetries` connects.
    if (connectRefused(error)) throw unavailable(error as Error, 'no')
    const safeToRepeat = repeatable()
    if (failure === 'dropped' && !safeToRepeat) throw unavailable(error as Error, 'unknown')
    // Every connection the pool held may have died at once (a server restart): each failed try
    // drops its dead client, so at most pool-size tries reach a new one; a refused one ends them.
    for (let retry = 1; ; retry++) {
      try {
        const result = await again()
        this.health.ok(POOL)
        return result
      } catch (second) {
        const secondFailure = connectionFailure(second)
        if (secondFailure === undefined) throw mapError(second)
        const safe = secondFailure !== 'dropped' || safeToRepeat
        if (!safe) throw unavailable(second as Error, 'unknown')
        if (retry >= this.safeRetries || connectRefused(second)) throw unavailable(second as Error, 'no')
      }
    }
  }

  /** True, after a pause, when `error` made its statement or transaction a deadlock victim that may run again (it counts). */
  async #afterDeadlock(error: unknown, deadlocks: number): Promise<boolean> {
    if (deadlocks >= DEADLOCK_RETRIES || !isPgError(error, DEADLOCK_DETECTED)) return false
    this.#deadlockRetries++
    await setTimeout(backoffDelay(deadlocks + 1, DEADLOCK_BACKOFF_MS, DEADLOCK_BACKOFF_MAX_MS))
    return true
  }

  /** Closes the pool (or PGlite); later calls throw ClosedError. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.notifications?.drain()
    await this.db.destroy()
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError()
  }
}

// A foreign-key violation on insert means a parent row (spec, unit, worker) was deleted under us.
function mapError(error: unknown): unknown {
  if (isPgError(error, '23503')) return new GoneError()
  return error
}
