import type { WorkUnitMeta, WorkUnitQuery } from '../../coordinate/api.js'
import { type DataDict, assertDataDict, workUnitKeyBytes } from '../../coordinate/data.js'
import { InvalidInputError } from '../../coordinate/errors.js'
import { type JsonData, dataToJson } from '../data-json.js'
import { encodeName } from '../names.js'
import { timeJson } from '../representations.js'

// Writers of request bodies and query strings, for the client. They validate what JSON would
// silently change (NaN, undefined, Dates, functions) so that bad input fails here, typed.

/** Data for a request body, checked first. */
export function dataOut(data: DataDict, what = 'data'): JsonData {
  assertDataDict(data, what)
  return dataToJson(data)
}

/** Optional data: undefined stays absent. */
export function optionalDataOut(data: DataDict | undefined, what = 'data'): JsonData | undefined {
  return data === undefined ? undefined : dataOut(data, what)
}

/** A finite number, checked. */
export function finite(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidInputError(`${what} must be a finite number`)
  return value
}

/** A time for a request body. */
export function timeOut(value: unknown, what: string): string | null {
  if (value === null) return null
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw new InvalidInputError(`${what} must be a Date or null`)
  return timeJson(value)
}

/** A work unit's meta for a request body. */
export function unitMetaOut(meta: Partial<WorkUnitMeta> | undefined): Record<string, unknown> | undefined {
  if (meta === undefined || meta === null) return undefined
  if (typeof meta !== 'object') throw new InvalidInputError('meta must be an object')
  const out: Record<string, unknown> = {}
  if (meta.priority !== undefined) out.priority = finite(meta.priority, 'priority')
  if (meta.notBefore !== undefined) out.not_before = timeOut(meta.notBefore, 'notBefore')
  return out
}

/** The encoded key of a unit key, checked. */
export function keyOut(key: unknown): string {
  return encodeName(workUnitKeyBytes(key as string))
}

/** A WorkUnitQuery as query parameters. */
export function queryOut(query: WorkUnitQuery = {}): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {}
  if (query.names !== undefined) out.name = query.names.map(keyOut)
  if (query.statuses !== undefined && query.statuses.length > 0) out.status = [...query.statuses]
  if (query.previousName !== undefined) out.previous = keyOut(query.previousName)
  // The API reads limit 0 as "no limit"; over HTTP that is leaving it out.
  if (query.limit !== undefined && query.limit !== 0) {
    if (!Number.isSafeInteger(query.limit)) throw new InvalidInputError(`a query limit must be a whole number, not ${String(query.limit)}`)
    out.limit = String(query.limit)
  }
  return out
}
