import { CompiledQuery, type Kysely, type RawBuilder, type Transaction } from 'kysely'
import type { Clock } from '../coordinate/clock.js'
import { ClosedError, GoneError } from '../coordinate/errors.js'
import { isPgError } from './migrate.js'
import { RememberedChoices } from './remembered-choices.js'
import type { DeferredNotifications } from './deferred-notifications.js'

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
export class Store {
  #closed = false
  /** Scheduler choices that meta alone decided, for one-round-trip claims. */
  readonly choices = new RememberedChoices()

  constructor(
    readonly db: Kysely<unknown>,
    readonly clock: Clock,
    /** Where the claim and completion paths announce their changes; absent when notifications are off. */
    readonly notifications?: DeferredNotifications,
    /** The pool's own query function, when there is a pool (not for PGlite). */
    private readonly direct?: DirectQuery,
  ) {}

  /** The current time according to the injected clock. */
  now(): Date {
    return this.clock.now()
  }

  /** Runs one statement and returns its rows, mapping Postgres errors to coordinate errors. */
  async rows<T>(query: RawBuilder<T>, executor: Executor = this.db): Promise<T[]> {
    this.#checkOpen()
    try {
      return (await query.execute(executor)).rows
    } catch (error) {
      throw mapError(error)
    }
  }

  /**
   * Runs a fixed statement text with positional parameters and returns its rows: straight on
   * the pool when it can, in `executor` when that is a transaction, else through Kysely.
   */
  async call<T>(text: string, values: readonly unknown[], executor?: Transaction<unknown>): Promise<T[]> {
    this.#checkOpen()
    try {
      if (executor === undefined && this.direct) return (await this.direct(text, values)) as T[]
      return (await (executor ?? this.db).executeQuery<T>(CompiledQuery.raw(text, [...values]))).rows
    } catch (error) {
      throw mapError(error)
    }
  }

  /** Runs one statement and returns its first row, or undefined. */
  async row<T>(query: RawBuilder<T>, executor: Executor = this.db): Promise<T | undefined> {
    return (await this.rows(query, executor))[0]
  }

  /** Runs `fn` in a transaction; every query inside must use the transaction it is given. */
  async transaction<T>(fn: (trx: Transaction<unknown>) => Promise<T>): Promise<T> {
    this.#checkOpen()
    try {
      return await this.db.transaction().execute(fn)
    } catch (error) {
      throw mapError(error)
    }
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
