import { type RawBuilder, sql } from 'kysely'
import type { VersionGuard } from '../coordinate/api.js'
import { GoneError, InvalidInputError, VersionConflictError } from '../coordinate/errors.js'
import type { Executor, Store } from './store.js'

/**
 * UPDATE … SET <assignments> and a new version on one row, only if it is still at
 * `guard.ifVersion` when given (compare-and-swap). Returns the new version; a version mismatch
 * throws VersionConflictError with the version found, a missing row GoneError.
 */
export async function guardedUpdate(
  store: Store,
  table: 'work_unit' | 'work_spec',
  id: string,
  assignments: RawBuilder<unknown>,
  guard: VersionGuard,
  what: string,
  executor?: Executor,
): Promise<number> {
  const expected = guard.ifVersion
  if (expected !== undefined && !Number.isSafeInteger(expected)) throw new InvalidInputError('ifVersion must be an integer')
  const check = expected === undefined ? sql`` : sql`AND version = ${expected}`
  const row = await store.row(
    sql<{ version: string | null; found: string | null }>`
    WITH updated AS (
      UPDATE ${sql.table(table)} SET ${assignments}, version = nextval('version_seq')
      WHERE id = ${id} ${check}
      RETURNING version
    )
    SELECT (SELECT version FROM updated) AS version, (SELECT version FROM ${sql.table(table)} WHERE id = ${id}) AS found`,
    executor,
  )
  if (row?.version != null) return Number(row.version)
  if (row?.found == null) throw new GoneError(what)
  throw new VersionConflictError(expected ?? -1, Number(row.found))
}
