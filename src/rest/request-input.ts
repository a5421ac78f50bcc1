import type { AddWorkUnitItem, AttemptRequest, WorkUnitMeta, WorkUnitQuery } from '../coordinate/api.js'
import { describe } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { validateAttemptRequest, validateWorkSpecMetaUpdate, validateWorkUnitMeta, validateWorkUnitQuery } from '../coordinate/request-validation.js'
import { WORK_UNIT_STATUSES, type WorkUnitStatus, isWorkUnitStatus } from '../coordinate/status.js'
import { validateWorkUnitKey } from '../coordinate/validation.js'
import type { WorkSpecMetaUpdate } from '../coordinate/work-spec-meta.js'
import { optionalDataFromJson } from './data-json.js'
import { checkPlainName, decodeKey } from './names.js'

// Readers of request bodies and query strings: each turns JSON into the API's types or throws
// InvalidInputError naming the field. Those that build an API argument end with its validator
// (src/coordinate/request-validation.ts), so a route refuses bad input itself, before it
// resolves anything or calls the layer below.

/** A JSON body as an object; a missing body (empty POST) reads as `{}`. */
export function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {}
  if (typeof body !== 'object' || Array.isArray(body)) throw new InvalidInputError(`the request body must be a JSON object, not ${describe(body)}`)
  return body as Record<string, unknown>
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** An RFC 3339 time, or null for null; undefined stays undefined. */
export function timeField(value: unknown, field: string): Date | null | undefined {
  if (value === undefined) return undefined
  if (value === null) return null
  if (typeof value === 'string' && RFC3339.test(value)) {
    const time = new Date(value)
    if (!Number.isNaN(time.getTime())) return time
  }
  throw new InvalidInputError(`${field} must be an RFC 3339 time or null, not ${JSON.stringify(value)}`)
}

/** A finite number, or undefined when absent. */
export function numberField(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'number' && Number.isFinite(value)) return value
  throw new InvalidInputError(`${field} must be a finite number, not ${JSON.stringify(value) ?? describe(value)}`)
}

/** A boolean, or undefined when absent. */
export function booleanField(value: unknown, field: string): boolean | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'boolean') return value
  throw new InvalidInputError(`${field} must be true or false, not ${JSON.stringify(value)}`)
}

/** A string, or undefined when absent. */
export function stringField(value: unknown, field: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value === 'string') return value
  throw new InvalidInputError(`${field} must be a string, not ${describe(value)}`)
}

/** A list of strings, or undefined when absent. */
export function stringListField(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[]
  throw new InvalidInputError(`${field} must be a list of strings`)
}

/** A work unit's meta from `{priority?, not_before?}`. */
export function workUnitMetaField(value: unknown, field = 'meta'): Partial<WorkUnitMeta> | undefined {
  if (value === undefined || value === null) return undefined
  const meta = bodyObject(value)
  const result: Partial<WorkUnitMeta> = {}
  const priority = numberField(meta.priority, `${field}.priority`)
  if (priority !== undefined) result.priority = priority
  const notBefore = timeField(meta.not_before, `${field}.not_before`)
  if (notBefore !== undefined) result.notBefore = notBefore
  return validateWorkUnitMeta(result, field)
}

/** The key of a unit in a body: `name` (plain text) or `key` (encoded), exactly one of them. */
export function unitKeyField(item: Record<string, unknown>, where = 'work unit'): string | Uint8Array {
  const { name, key } = item
  if ((name === undefined) === (key === undefined)) throw new InvalidInputError(`${where} needs exactly one of "name" (text) and "key" (encoded)`)
  if (name !== undefined) return checkPlainName(stringField(name, `${where} name`)!, `${where} name`)
  return decodeKey(stringField(key, `${where} key`)!, `${where} key`)
}

// `index` numbers the unit as the backend's messages do; `where` prefixes its fields' names
// (absent: the fields are the body's own, as in a single add).
/** A unit to add, its key as bytes, from `{name|key, data?, meta?}`, refused as the backend would refuse it. */
export function workUnitItemOf(entry: unknown, index: number, where?: string): AddWorkUnitItem {
  const body = bodyObject(entry)
  const field = (name: string) => (where === undefined ? name : `${where}.${name}`)
  const key = unitKeyField(body, where)
  const data = optionalDataFromJson(body.data, field('data'), `work unit ${index} data`)
  const meta = workUnitMetaField(body.meta, field('meta'))
  // What only the backend's item check would catch, in its words, so that it is refused before
  // the spec is looked up: a lone surrogate in a text key (CBOR data got its check as it was read).
  const item: AddWorkUnitItem = { key: validateWorkUnitKey(key, `work unit ${index} key`) }
  if (data !== undefined) item.data = data
  if (meta !== undefined) item.meta = meta
  return item
}

/** Query-string values of a repeatable parameter. */
function many(value: unknown): string[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value.map(String) : [String(value)]
}

/** A WorkUnitQuery from the `name`, `status`, `previous` and `limit` query parameters. */
export function workUnitQueryOf(query: Record<string, unknown>): WorkUnitQuery {
  const result: WorkUnitQuery = {}
  const names = many(query.name)
  if (names.length > 0) result.names = names.map((n) => decodeKey(n, 'name'))
  const statuses = many(query.status)
  for (const s of statuses) {
    if (s !== 'any' && !isWorkUnitStatus(s)) throw new InvalidInputError(`status must be one of ${WORK_UNIT_STATUSES.join(', ')} or any, not ${JSON.stringify(s)}`)
  }
  if (statuses.length > 0 && !statuses.includes('any')) result.statuses = statuses as WorkUnitStatus[]
  if (query.previous !== undefined) result.previousName = decodeKey(String(query.previous), 'previous')
  const limit = limitOf(query.limit)
  if (limit !== undefined) result.limit = limit
  return validateWorkUnitQuery(result, 'the query')
}

/** A `limit` parameter: a whole number of at least 1. */
export function limitOf(value: unknown): number | undefined {
  if (value === undefined) return undefined
  const text = String(value)
  const limit = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(limit) || limit < 1) throw new InvalidInputError(`limit must be a whole number of at least 1, not ${JSON.stringify(text)}`)
  return limit
}

/** Tells whether a query selects everything (no filter at all). */
export function selectsAll(query: WorkUnitQuery): boolean {
  return query.names === undefined && query.statuses === undefined && query.previousName === undefined && query.limit === undefined
}

/** An AttemptRequest from its JSON form. */
export function attemptRequestOf(body: Record<string, unknown>): AttemptRequest {
  const request: AttemptRequest = {}
  const availableGb = numberField(body.available_gb, 'available_gb')
  if (availableGb !== undefined) request.availableGb = availableGb
  const lifetimeMs = numberField(body.lifetime_ms, 'lifetime_ms')
  if (lifetimeMs !== undefined) request.lifetimeMs = lifetimeMs
  const count = numberField(body.number_of_work_units, 'number_of_work_units')
  if (count !== undefined) request.numberOfWorkUnits = count
  const workSpecs = stringListField(body.work_specs, 'work_specs')
  if (workSpecs !== undefined) request.workSpecs = workSpecs
  const runtimes = stringListField(body.runtimes, 'runtimes')
  if (runtimes !== undefined) request.runtimes = runtimes
  return validateAttemptRequest(request)
}

const META_FIELDS: readonly [string, keyof WorkSpecMetaUpdate, 'number' | 'boolean' | 'time' | 'string'][] = [
  ['priority', 'priority', 'number'],
  ['weight', 'weight', 'number'],
  ['paused', 'paused', 'boolean'],
  ['continuous', 'continuous', 'boolean'],
  ['can_be_continuous', 'canBeContinuous', 'boolean'],
  ['min_memory_gb', 'minMemoryGb', 'number'],
  ['interval_ms', 'intervalMs', 'number'],
  ['next_continuous', 'nextContinuous', 'time'],
  ['max_running', 'maxRunning', 'number'],
  ['max_attempts_returned', 'maxAttemptsReturned', 'number'],
  ['max_retries', 'maxRetries', 'number'],
  ['next_work_spec_name', 'nextWorkSpecName', 'string'],
  ['runtime', 'runtime', 'string'],
  ['available_count', 'availableCount', 'number'],
  ['pending_count', 'pendingCount', 'number'],
]

/** A partial WorkSpecMeta from its snake_case JSON form. */
export function workSpecMetaOf(body: Record<string, unknown>): WorkSpecMetaUpdate {
  const meta: Record<string, unknown> = {}
  for (const [json, field, type] of META_FIELDS) {
    const value =
      type === 'number' ? numberField(body[json], json) : type === 'boolean' ? booleanField(body[json], json) : type === 'time' ? timeField(body[json], json) : stringField(body[json], json)
    if (value !== undefined) meta[field] = value
  }
  return validateWorkSpecMetaUpdate(meta)
}

/** The names of the WorkSpecMeta JSON fields and the API's, for encoding. */
export const WORK_SPEC_META_FIELDS = META_FIELDS
