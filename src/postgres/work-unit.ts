import { sql } from 'kysely'
import type { Attempt, VersionGuard, WorkUnit, WorkUnitMeta } from '../coordinate/api.js'
import { decodeDataDict, encodeData } from '../coordinate/cbor-data.js'
import { type DataDict, workUnitKeyName } from '../coordinate/data.js'
import { GoneError } from '../coordinate/errors.js'
import { validateDataDict } from '../coordinate/validation.js'
import { validateVersionGuard, validateWorkUnitMeta } from '../coordinate/request-validation.js'
import type { WorkUnitSnapshot } from '../coordinate/work-unit-snapshot.js'
import { snapshotFromRow, snapshotSql } from './work-unit-snapshot-sql.js'
import { guardedUpdate } from './guarded-update.js'
import type { WorkUnitStatus } from '../coordinate/status.js'
import { ATTEMPT_HANDLE_SQL, type AttemptHandleRow, attemptFromRow } from './attempt.js'
import { activeAttemptIdSql, unitStatusSql } from './sql-fragments.js'
import type { PostgresWorkSpec } from './work-spec.js'

/** A work unit row, addressed by id. */
export class PostgresWorkUnit implements WorkUnit {
  readonly name: string

  constructor(
    readonly workSpec: PostgresWorkSpec,
    readonly id: string,
    readonly key: Uint8Array,
  ) {
    this.name = workUnitKeyName(key)
  }

  get #store() {
    return this.workSpec.namespace.store
  }

  /** The active attempt's data if it has its own, else the unit's. */
  async data(): Promise<DataDict> {
    const now = this.#store.now()
    const row = await this.#store.row(sql<{ data: Uint8Array }>`
      SELECT COALESCE(a.data, u.data) AS data
      FROM work_unit u LEFT JOIN attempt a ON a.id = ${activeAttemptIdSql(now)}
      WHERE u.id = ${this.id}`)
    if (!row) throw new GoneError('Work unit')
    return decodeDataDict(row.data)
  }

  /** The status at the clock's now. */
  async status(): Promise<WorkUnitStatus> {
    const row = await this.#store.row(
      sql<{ status: WorkUnitStatus }>`SELECT ${unitStatusSql(this.#store.now())} AS status FROM work_unit u WHERE u.id = ${this.id}`,
    )
    if (!row) throw new GoneError('Work unit')
    return row.status
  }

  /** Replaces the unit's own data, optionally only if it is still at `guard.ifVersion`. */
  async setData(data: DataDict, guard: VersionGuard = {}): Promise<number> {
    validateDataDict(data)
    validateVersionGuard(guard)
    return guardedUpdate(this.#store, 'work_unit', this.id, sql`data = ${Buffer.from(encodeData(data))}`, guard, 'Work unit')
  }

  /** Everything about the unit, in one read. */
  async snapshot(): Promise<WorkUnitSnapshot> {
    const row = await this.#store.row(snapshotSql(sql`u.id = ${this.id}`))
    if (!row) throw new GoneError('Work unit')
    return snapshotFromRow(row)
  }

  /** Priority and not-before. */
  async meta(): Promise<WorkUnitMeta> {
    const row = await this.#store.row(
      sql<{ priority: number; not_before: Date | null }>`SELECT priority, not_before FROM work_unit WHERE id = ${this.id}`,
    )
    if (!row) throw new GoneError('Work unit')
    return { priority: row.priority, notBefore: row.not_before }
  }

  /** Changes the fields present in `meta`; `notBefore: null` clears the delay. */
  async setMeta(meta: Partial<WorkUnitMeta>): Promise<void> {
    const { priority, notBefore } = validateWorkUnitMeta(meta)
    const rows = await this.#store.rows(sql`
      UPDATE work_unit SET
        priority = COALESCE(${priority ?? null}::double precision, priority),
        not_before = CASE WHEN ${notBefore !== undefined} THEN ${notBefore ?? null}::timestamptz ELSE not_before END,
        version = nextval('version_seq')
      WHERE id = ${this.id} RETURNING id`)
    if (rows.length === 0) throw new GoneError('Work unit')
  }

  /** The attempt that decides the status now, or null. */
  async activeAttempt(): Promise<Attempt | null> {
    const now = this.#store.now()
    const row = await this.#store.row(sql<AttemptHandleRow>`
      ${ATTEMPT_HANDLE_SQL}
      WHERE a.id = (SELECT ${activeAttemptIdSql(now)} FROM work_unit u WHERE u.id = ${this.id})`)
    return row ? attemptFromRow(this.workSpec.namespace, row, this.workSpec, this) : null
  }

  /** Makes the unit available; a running attempt keeps running but no longer decides the status. */
  async clearActiveAttempt(): Promise<void> {
    const rows = await this.#store.rows(sql`
      UPDATE work_unit SET active_attempt_id = NULL, state = 'available', lease_expires = NULL, version = nextval('version_seq')
      WHERE id = ${this.id} RETURNING id`)
    if (rows.length === 0) throw new GoneError('Work unit')
  }

  /** Every attempt on this unit, oldest first. */
  async attempts(): Promise<Attempt[]> {
    const rows = await this.#store.rows(sql<AttemptHandleRow>`${ATTEMPT_HANDLE_SQL} WHERE a.work_unit_id = ${this.id} ORDER BY a.id`)
    return rows.map((row) => attemptFromRow(this.workSpec.namespace, row, this.workSpec, this))
  }

  /** How many attempts this unit has had. */
  async numAttempts(): Promise<number> {
    const row = await this.#store.row(sql<{ n: number }>`SELECT count(*)::integer AS n FROM attempt WHERE work_unit_id = ${this.id}`)
    return row?.n ?? 0
  }
}
