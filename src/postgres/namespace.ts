import { sql } from 'kysely'
import type { AttemptCompletion, Namespace, SummaryRecord, WorkSpec, Worker } from '../coordinate/api.js'
import type { DataDict } from '../coordinate/data.js'
import { encodeData } from '../coordinate/cbor-data.js'
import { GoneError, NoSuchWorkSpecError } from '../coordinate/errors.js'
import { validateName } from '../coordinate/validation.js'
import { validateAttemptCompletions } from '../coordinate/request-validation.js'
import { parseWorkSpecData } from '../coordinate/work-spec-meta.js'
import { DEFAULT_LEASE_MS } from '../coordinate/clock.js'
import type { Store } from './store.js'
import { summarize } from './summary.js'
import { definitionAssignments } from './work-spec-meta-sql.js'
import { PostgresWorkSpec } from './work-spec.js'
import { PostgresWorker } from './worker.js'
import { completeAttempts } from './attempt-completion.js'

/** A namespace row, addressed by id. */
export class PostgresNamespace implements Namespace {
  constructor(
    readonly store: Store,
    readonly id: string,
    readonly name: string,
  ) {}

  /** Deletes the namespace and, by cascade, everything in it. */
  async destroy(): Promise<void> {
    await this.store.rows(sql`DELETE FROM namespace WHERE id = ${this.id}`)
  }

  /** Creates or replaces a work spec in one upsert; replacing re-derives every meta field. */
  async setWorkSpec(data: DataDict): Promise<WorkSpec> {
    const { name, meta } = parseWorkSpecData(data)
    const row = await this.store.row(sql<{ id: string }>`
      INSERT INTO work_spec (namespace_id, name, data, priority, weight, paused, continuous, can_be_continuous,
        min_memory_gb, interval_ms, max_running, max_attempts_returned, max_retries, next_work_spec_name, runtime)
      VALUES (${this.id}, ${name}, ${encodeData(data)}, ${meta.priority}, ${meta.weight}, ${meta.paused},
        ${meta.continuous}, ${meta.canBeContinuous}, ${meta.minMemoryGb}, ${meta.intervalMs}, ${meta.maxRunning},
        ${meta.maxAttemptsReturned}, ${meta.maxRetries}, ${meta.nextWorkSpecName}, ${meta.runtime})
      ON CONFLICT (namespace_id, name) DO UPDATE SET ${definitionAssignments(data, meta)}, version = nextval('version_seq')
      RETURNING id::text`)
    if (!row) throw new GoneError('Namespace')
    return new PostgresWorkSpec(this, row.id, name)
  }

  /** The spec with this name (one lookup by the unique index). */
  async workSpec(name: string): Promise<WorkSpec> {
    validateName(name, 'a work spec name')
    const row = await this.store.row(
      sql<{ id: string }>`SELECT id::text FROM work_spec WHERE namespace_id = ${this.id} AND name = ${name}`,
    )
    if (!row) throw new NoSuchWorkSpecError(name)
    return new PostgresWorkSpec(this, row.id, name)
  }

  /** Deletes a spec; its units and attempts go with it by cascade. */
  async destroyWorkSpec(name: string): Promise<void> {
    validateName(name, 'a work spec name')
    const row = await this.store.row(
      sql<{ id: string }>`DELETE FROM work_spec WHERE namespace_id = ${this.id} AND name = ${name} RETURNING id::text`,
    )
    if (!row) throw new NoSuchWorkSpecError(name)
  }

  /** Every spec name, sorted. */
  async workSpecNames(): Promise<string[]> {
    const rows = await this.store.rows(sql<{ name: string }>`SELECT name FROM work_spec WHERE namespace_id = ${this.id} ORDER BY name`)
    return rows.map((r) => r.name)
  }

  /** Gets or creates a worker: active, mode "", empty data, expiring 15 minutes from now. */
  async worker(name: string): Promise<Worker> {
    validateName(name, 'a worker name')
    const now = this.store.now()
    const expiration = new Date(now.getTime() + DEFAULT_LEASE_MS)
    for (;;) {
      const row = await this.store.row(sql<{ id: string }>`
        WITH inserted AS (
          INSERT INTO worker (namespace_id, name, data, expiration, last_update)
          VALUES (${this.id}, ${name}, ${encodeData({})}, ${expiration}, ${now})
          ON CONFLICT (namespace_id, name) DO NOTHING RETURNING id
        )
        SELECT id::text FROM inserted
        UNION ALL
        SELECT id::text FROM worker WHERE namespace_id = ${this.id} AND name = ${name}
        LIMIT 1`)
      if (row) return new PostgresWorker(this, row.id, name)
    }
  }

  /** Every worker, sorted by name. */
  async workers(): Promise<Worker[]> {
    const rows = await this.store.rows(
      sql<{ id: string; name: string }>`SELECT id::text, name FROM worker WHERE namespace_id = ${this.id} ORDER BY name`,
    )
    return rows.map((r) => new PostgresWorker(this, r.id, r.name))
  }

  /** Finishes or fails many attempts at once (all or nothing). */
  async completeAttempts(completions: readonly AttemptCompletion[]): Promise<void> {
    validateAttemptCompletions(completions)
    return completeAttempts(this.store, completions)
  }

  /** Unit counts for this namespace. */
  summarize(): Promise<SummaryRecord[]> {
    return summarize(this.store, { namespaceId: this.id })
  }
}
