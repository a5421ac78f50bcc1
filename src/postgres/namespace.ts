import type { AttemptCompletion, AttemptRenewal, Namespace, RenewalOutcome, SummaryRecord, WorkSpec, Worker } from '../coordinate/api.js'
import type { DataDict } from '../coordinate/data.js'
import { GoneError, NoSuchWorkSpecError } from '../coordinate/errors.js'
import { validateName } from '../coordinate/validation.js'
import { validateAttemptCompletions, validateAttemptRenewals } from '../coordinate/request-validation.js'
import { parseWorkSpecData } from '../coordinate/work-spec-meta.js'
import { DEFAULT_LEASE_MS } from '../coordinate/clock.js'
import type { Store } from './store.js'
import { summarize } from './summary.js'
import { deleteNamespaceSql, workerIdSql, workersSql } from './sql/namespace.js'
import { upsertWorkSpecSql, workSpecIdSql, workSpecNamesSql } from './sql/work-spec.js'
import { destroyWorkSpecInLockOrder } from './spec-destruction.js'
import { PostgresWorkSpec } from './work-spec.js'
import { PostgresWorker } from './worker.js'
import { completeAttempts } from './attempt-completion.js'
import { renewAttempts } from './renewal.js'

/** A namespace row, addressed by id. */
export class PostgresNamespace implements Namespace {
  constructor(
    readonly store: Store,
    readonly id: string,
    readonly name: string,
  ) {}

  /** Deletes the namespace and, by cascade, everything in it. */
  async destroy(): Promise<void> {
    await this.store.rows(deleteNamespaceSql(this.id))
  }

  /** Creates or replaces a work spec in one upsert; replacing re-derives every meta field. */
  async setWorkSpec(data: DataDict): Promise<WorkSpec> {
    const { name, meta } = parseWorkSpecData(data)
    const row = await this.store.row(upsertWorkSpecSql(this.id, name, data, meta))
    if (!row) throw new GoneError('Namespace')
    return new PostgresWorkSpec(this, row.id, name)
  }

  /** The spec with this name (one lookup by the unique index). */
  async workSpec(name: string): Promise<WorkSpec> {
    validateName(name, 'a work spec name')
    const row = await this.store.row(workSpecIdSql(this.id, name))
    if (!row) throw new NoSuchWorkSpecError(name)
    return new PostgresWorkSpec(this, row.id, name)
  }

  /** Deletes a spec with its units and attempts, locking attempts before units as every writer does. */
  async destroyWorkSpec(name: string): Promise<void> {
    validateName(name, 'a work spec name')
    await destroyWorkSpecInLockOrder(this.store, this.id, name)
  }

  /** Every spec name, sorted. */
  async workSpecNames(): Promise<string[]> {
    const rows = await this.store.rows(workSpecNamesSql(this.id))
    return rows.map((r) => r.name)
  }

  /** Gets or creates a worker: active, mode "", empty data, expiring 15 minutes from now. */
  async worker(name: string): Promise<Worker> {
    validateName(name, 'a worker name')
    const now = this.store.now()
    const expiration = new Date(now.getTime() + DEFAULT_LEASE_MS)
    for (;;) {
      const row = await this.store.getOrCreate(workerIdSql(this.id, name, now, expiration))
      if (row) return new PostgresWorker(this, row.id, name)
    }
  }

  /** Every worker, sorted by name. */
  async workers(): Promise<Worker[]> {
    const rows = await this.store.rows(workersSql(this.id))
    return rows.map((r) => new PostgresWorker(this, r.id, r.name))
  }

  /** Finishes or fails many attempts at once (all or nothing). */
  async completeAttempts(completions: readonly AttemptCompletion[]): Promise<void> {
    validateAttemptCompletions(completions)
    return completeAttempts(this.store, completions)
  }

  /** Extends many leases in one statement, one outcome per renewal. */
  async renewAttempts(renewals: readonly AttemptRenewal[]): Promise<RenewalOutcome[]> {
    validateAttemptRenewals(renewals)
    return renewAttempts(this.store, renewals)
  }

  /** Unit counts for this namespace. */
  summarize(): Promise<SummaryRecord[]> {
    return summarize(this.store, { namespaceId: this.id })
  }
}
