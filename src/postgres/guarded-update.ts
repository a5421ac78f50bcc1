import type { RawBuilder } from 'kysely'
import type { VersionGuard } from '../coordinate/api.js'
import { GoneError, InvalidInputError, VersionConflictError } from '../coordinate/errors.js'
import { guardedUpdateSql } from './sql/guarded-update.js'
import type { Store } from './store.js'

/**
 * Updates one row and gives it a new version, only if it is still at `guard.ifVersion` when
 * given (compare-and-swap). Returns the new version; a version mismatch
 * throws VersionConflictError with the version found, a missing row GoneError.
 */
export async function guardedUpdate(
  store: Store,
  table: 'work_unit' | 'work_spec',
  id: string,
  assignments: RawBuilder<unknown>,
  guard: VersionGuard,
  what: string,
): Promise<number> {
  const expected = guard.ifVersion
  if (expected !== undefined && !Number.isSafeInteger(expected)) throw new InvalidInputError('ifVersion must be an integer')
  const row = await store.row(guardedUpdateSql(table, id, assignments, expected))
  if (row?.version != null) return Number(row.version)
  if (row?.found == null) throw new GoneError(what)
  throw new VersionConflictError(expected ?? -1, Number(row.found))
}
