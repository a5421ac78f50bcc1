import type { AddWorkUnitItem, AttemptCompletion, AttemptRenewal, AttemptRequest, VersionGuard, WorkUnitMeta, WorkUnitQuery, WorkerUpdate } from './api.js'
import type { DataDict } from './data.js'
import { InvalidInputError } from './errors.js'
import { MAX_UNITS_PER_REQUEST } from './limits.js'
import { WORK_UNIT_STATUSES, type WorkUnitStatus } from './status.js'
import {
  shown,
  validateCap,
  validateDataDict,
  validateDelayMs,
  validateInt32,
  validateInteger,
  validateLeaseMs,
  validateMemoryGb,
  validateNames,
  validateOptionalDataDict,
  validateOptionalTime,
  validateRecord,
  validateText,
  validateTime,
  validateUnitPriority,
  validateWeight,
  validateWorkUnitKey,
  validateWorkUnitKeys,
} from './validation.js'
import { type WorkSpecMetaUpdate, parseWorkSpecData } from './work-spec-meta.js'

// Validators for the structured arguments of public calls (queries, requests, updates). The
// Postgres backend, the cache and the HTTP API call them first thing; the jobserver's parameter
// readers call the scalar ones in validation.ts.

/** Checks a work unit query: keys, known statuses, and a limit that is a whole number ≥ 0 (0 = none). */
export function validateWorkUnitQuery(query: unknown, what = 'a work unit query'): WorkUnitQuery {
  const q = validateRecord(query as WorkUnitQuery | undefined, what)
  if (q.names !== undefined) validateWorkUnitKeys(q.names, `${what} names`)
  if (q.statuses !== undefined) {
    if (!Array.isArray(q.statuses)) throw new InvalidInputError(`${what} statuses must be a list, not ${shown(q.statuses)}`)
    for (const status of q.statuses as unknown[]) {
      if (!WORK_UNIT_STATUSES.includes(status as WorkUnitStatus)) throw new InvalidInputError(`unknown work unit status ${shown(status)}`)
    }
  }
  if (q.previousName !== undefined) validateWorkUnitKey(q.previousName, `${what} previousName`)
  if (q.limit !== undefined) validateInteger(q.limit, `${what} limit`, 0, Number.MAX_SAFE_INTEGER)
  return q
}

/** Checks a unit's meta (priority, notBefore); either may be absent. */
export function validateWorkUnitMeta(meta: unknown, what = 'work unit meta'): Partial<WorkUnitMeta> {
  const m = validateRecord(meta as Partial<WorkUnitMeta> | undefined, what)
  if (m.priority !== undefined) validateUnitPriority(m.priority, `${what} priority`)
  validateOptionalTime(m.notBefore, `${what} notBefore`)
  return m
}

/** A unit of a bulk add after validation: key bytes, data and meta with defaults filled in. */
export interface ValidatedWorkUnitItem {
  key: Uint8Array
  data: DataDict
  priority: number
  notBefore: Date | null
}

/** Checks one item of addWorkUnits (or the arguments of addWorkUnit, as item 0). */
export function validateWorkUnitItem(item: unknown, index = 0): ValidatedWorkUnitItem {
  const what = `work unit ${index}`
  if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new InvalidInputError(`${what} is ${shown(item)}, not an item`)
  const { key, data, meta } = item as AddWorkUnitItem
  const bytes = validateWorkUnitKey(key, `${what} key`)
  const dict = data === undefined ? {} : validateDataDict(data, `${what} data`)
  const m = validateWorkUnitMeta(meta, `${what} meta`)
  return { key: bytes, data: dict, priority: m.priority ?? 0, notBefore: m.notBefore ?? null }
}

/** Checks that addWorkUnits got a list; the items are checked one by one as they are encoded. */
export function validateWorkUnitItems(items: unknown): readonly unknown[] {
  if (!Array.isArray(items)) throw new InvalidInputError(`work units must come as a list, not ${shown(items)}`)
  return items
}

/** Checks a setMeta update of a work spec; fields setMeta ignores are not checked. */
export function validateWorkSpecMetaUpdate(meta: unknown): WorkSpecMetaUpdate {
  const m = validateRecord(meta as WorkSpecMetaUpdate | undefined, 'work spec meta')
  if (m.priority !== undefined) validateInt32(m.priority, 'meta priority')
  if (m.weight !== undefined) validateWeight(m.weight, 'meta weight')
  if (m.paused !== undefined) validateBoolean(m.paused, 'meta paused')
  if (m.continuous !== undefined) validateBoolean(m.continuous, 'meta continuous')
  if (m.minMemoryGb !== undefined) validateMemoryGb(m.minMemoryGb, 'meta minMemoryGb')
  if (m.intervalMs !== undefined) validateInteger(validateDelayMs(m.intervalMs, 'meta intervalMs'), 'meta intervalMs', 0, Number.MAX_SAFE_INTEGER)
  validateOptionalTime(m.nextContinuous, 'meta nextContinuous')
  if (m.maxRunning !== undefined) validateCap(m.maxRunning, 'meta maxRunning')
  if (m.maxAttemptsReturned !== undefined) validateCap(m.maxAttemptsReturned, 'meta maxAttemptsReturned')
  if (m.maxRetries !== undefined) validateCap(m.maxRetries, 'meta maxRetries')
  return m
}

/** Checks the options of WorkSpec.meta(). */
export function validateMetaOptions(options: unknown): { withCounts?: boolean } {
  const o = validateRecord(options as { withCounts?: boolean } | undefined, 'meta options')
  if (o.withCounts !== undefined) validateBoolean(o.withCounts, 'meta withCounts')
  return o
}

/** Checks a compare-and-swap guard: ifVersion, when given, is a whole number. */
export function validateVersionGuard(guard: unknown): VersionGuard {
  const g = validateRecord(guard as VersionGuard | undefined, 'a version guard')
  if (g.ifVersion !== undefined) validateInteger(g.ifVersion, 'ifVersion', 0, Number.MAX_SAFE_INTEGER)
  return g
}

/**
 * Checks what a worker asks for: numberOfWorkUnits a whole number from 1 to
 * MAX_UNITS_PER_REQUEST, a lease within MAX_LEASE_MS, availableGb ≥ 0, name lists of names.
 */
export function validateAttemptRequest(request: unknown): AttemptRequest {
  const r = validateRecord(request as AttemptRequest | undefined, 'an attempt request')
  if (r.numberOfWorkUnits !== undefined) validateInteger(r.numberOfWorkUnits, 'numberOfWorkUnits', 1, MAX_UNITS_PER_REQUEST)
  if (r.lifetimeMs !== undefined) validateLeaseMs(r.lifetimeMs, 'lifetimeMs')
  if (r.availableGb !== undefined) validateMemoryGb(r.availableGb, 'availableGb', true)
  if (r.workSpecs !== undefined) validateNames(r.workSpecs, 'workSpecs')
  if (r.runtimes !== undefined) validateNames(r.runtimes, 'runtimes')
  return r
}

/** Checks a worker heartbeat: data dict, valid times, a text mode. */
export function validateWorkerUpdate(update: unknown): WorkerUpdate {
  const u = validateRecord(update as WorkerUpdate | undefined, 'a worker update')
  // null is not "no change" here: the backend would store it and the worker's data would stop reading as a dict.
  if (u.data !== undefined) validateDataDict(u.data, 'worker data')
  if (u.now !== undefined) validateTime(u.now, 'worker update now')
  if (u.expiration !== undefined) validateTime(u.expiration, 'worker expiration')
  if (u.mode !== undefined) validateText(u.mode, 'a worker mode')
  return u
}

/** Checks a bulk completion: a list of { attempt, status finished|failed, data? } with each attempt once. */
export function validateAttemptCompletions(completions: unknown): readonly AttemptCompletion[] {
  return validateAttemptList<AttemptCompletion>(completions, 'completion', 'completed', ({ status, data }, i) => {
    if (status !== 'finished' && status !== 'failed') throw new InvalidInputError(`cannot complete an attempt as ${shown(status)}`)
    validateOptionalDataDict(data, `completion ${i} data`)
  })
}

/** Checks a bulk renewal: a list of { attempt, extendMs, data? } with each attempt once. */
export function validateAttemptRenewals(renewals: unknown): readonly AttemptRenewal[] {
  return validateAttemptList<AttemptRenewal>(renewals, 'renewal', 'renewed', ({ extendMs, data }, i) => {
    validateLeaseMs(extendMs, `renewal ${i} extendMs`)
    validateOptionalDataDict(data, `renewal ${i} data`)
  })
}

// A list of objects that each name an attempt, no attempt twice, each item checked by `check`.
function validateAttemptList<T extends { attempt: { id: string } }>(list: unknown, what: string, done: string, check: (item: T, i: number) => void): readonly T[] {
  if (!Array.isArray(list)) throw new InvalidInputError(`${what}s must be a list, not ${shown(list)}`)
  const seen = new Set<unknown>()
  list.forEach((item: unknown, i) => {
    if (item === null || typeof item !== 'object') throw new InvalidInputError(`${what} ${i} is ${shown(item)}, not a ${what}`)
    const { attempt } = item as T
    if (attempt === null || typeof attempt !== 'object') throw new InvalidInputError(`${what} ${i} has no attempt`)
    check(item as T, i)
    if (seen.has(attempt.id)) throw new InvalidInputError(`the same attempt is ${done} twice`)
    seen.add(attempt.id)
  })
  return list as readonly T[]
}

/** Checks the arguments of Attempt.renew. */
export function validateRenewal(extendMs: unknown, data: unknown): void {
  validateLeaseMs(extendMs, 'renew extendMs')
  validateOptionalDataDict(data)
}

/** Checks the arguments of Attempt.retry: optional data, a delay from 0 to MAX_DELAY_MS. */
export function validateRetry(data: unknown, delayMs: unknown): void {
  validateOptionalDataDict(data)
  if (delayMs !== undefined) validateDelayMs(delayMs, 'retry delayMs')
}

/** Checks a priority for setWorkUnitPriorities or a delta for adjustWorkUnitPriorities; returns the query (a missing one selects all). */
export function validatePriorityChange(query: unknown, value: unknown, what: string): WorkUnitQuery {
  validateUnitPriority(value, what)
  return validateWorkUnitQuery(query)
}

/** Checks a boolean flag. */
export function validateBoolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new InvalidInputError(`${what} must be a boolean, not ${shown(value)}`)
  return value
}

/** Checks a work spec dict as setWorkSpec and setData read it (name, settings, storable data). */
export function validateWorkSpecData(data: unknown): DataDict {
  parseWorkSpecData(data)
  return data as DataDict
}
