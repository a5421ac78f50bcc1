import type { AddWorkUnitItem, WorkSpec, WorkUnitQuery } from '../coordinate/api.js'
import { SECOND } from '../coordinate/clock.js'
import { type DataDict, type DataValue, Tuple } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'
import type { WorkUnitStatus } from '../coordinate/status.js'
import { parseOutputItemStrict } from '../coordinate/work-unit-output.js'
import { READ_PARALLELISM, mapLimit } from '../coordinate/map-limit.js'
import { findWorkSpec, findWorkUnit, noSuchWorkSpec } from './lookups.js'
import { type JobServerContext, type MethodTable, type Pair, method, ok } from './method.js'
import {
  option,
  readKey,
  readKeys,
  readList,
  readOptionalBoolean,
  readOptionalInteger,
  readOptionalNumber,
  readOptions,
  readText,
} from './params.js'
import { AVAILABLE, FAILED, FINISHED, PENDING, readStateOption, statusCode } from './status-codes.js'

/** get_work_units' page size when the client sends no limit (Python's and go's default). */
export const DEFAULT_UNIT_LIMIT = 1000
/** The largest page get_work_units returns (Python clamps to this). */
export const MAX_UNIT_LIMIT = 10_000

/** The status entry get_work_unit_status gives for one existing unit. */
export interface WorkUnitStatusEntry {
  status: number
  worker_id?: string
  expiration?: number
  traceback?: DataValue
}

/**
 * Work unit methods: add_work_units, get_work_units, get_work_unit_status,
 * prioritize_work_units, count_work_units, del_work_units and archive.
 */
export function workUnitMethods({ namespace, clock }: JobServerContext): MethodTable {
  return {
    // Every item is parsed before anything is written, and the write is one addWorkUnits call,
    // so one bad item in a batch of thousands leaves the spec untouched.
    add_work_units: method(2, async ([rawName, rawItems]): Promise<Pair<boolean>> => {
      const name = readText(rawName, 'work_spec name')
      const now = clock.now()
      const items = readList(rawItems, 'work units').map((raw, i): AddWorkUnitItem => {
        try {
          const unit = parseOutputItemStrict(raw as DataValue, now)
          return { key: unit.key, data: unit.data, meta: { priority: unit.priority, notBefore: unit.notBefore } }
        } catch (error) {
          if (error instanceof InvalidInputError) throw new InvalidInputError(`work unit ${i}: ${error.message}`)
          throw error
        }
      })
      const spec = await findWorkSpec(namespace, name)
      if (!spec) return [false, noSuchWorkSpec(name)]
      await spec.addWorkUnits(items)
      return ok(true)
    }),

    // Entries are (key bytes, effective data) tuples in key order. `work_unit_keys` returns
    // exactly those units that exist; otherwise `start` is the last key of the previous page
    // (exclusive) and `state` filters.
    get_work_units: method(2, async ([rawName, rawOptions]): Promise<Pair<Tuple[] | null>> => {
      const name = readText(rawName, 'work_spec name')
      const options = readOptions(rawOptions, 'get_work_units options')
      const query = readUnitSelection(options)
      const spec = await findWorkSpec(namespace, name)
      if (!spec) return [null, noSuchWorkSpec(name)]
      if (query === null) return ok([])
      const units = await spec.workUnits(query)
      return ok(await mapLimit(units, READ_PARALLELISM, async (unit) => Tuple.of(unit.key, await unit.data())))
    }),

    get_work_unit_status: method(2, async ([rawName, rawKeys]): Promise<Pair<(WorkUnitStatusEntry | null)[] | null>> => {
      const name = readText(rawName, 'work_spec name')
      const keys = readKeys(rawKeys, 'work_unit_keys')
      const spec = await findWorkSpec(namespace, name)
      if (!spec) return [null, noSuchWorkSpec(name)]
      return ok(await mapLimit(keys, READ_PARALLELISM, (key) => unitStatus(spec, key)))
    }),

    // Python semantics: `priority` sets, else `adjustment` adds, else nothing changes; keys that
    // do not exist are skipped silently.
    prioritize_work_units: method(2, async ([rawName, rawOptions]): Promise<Pair<boolean>> => {
      const name = readText(rawName, 'work_spec name')
      const options = readOptions(rawOptions, 'prioritize_work_units options')
      const rawKeys = option(options, 'work_unit_keys')
      const keys = rawKeys === undefined ? undefined : readKeys(rawKeys, 'work_unit_keys')
      const priority = readOptionalNumber(option(options, 'priority'), 'priority')
      const adjustment = readOptionalNumber(option(options, 'adjustment'), 'adjustment')
      const spec = await findWorkSpec(namespace, name)
      if (!spec) return [false, noSuchWorkSpec(name)]
      if (keys === undefined) return [false, 'missing work_unit_keys']
      if (keys.length > 0) {
        if (priority !== undefined) await spec.setWorkUnitPriorities({ names: keys }, priority)
        else if (adjustment !== undefined) await spec.adjustWorkUnitPriorities({ names: keys }, adjustment)
      }
      return ok(true)
    }),

    // {status code: count} with int keys, as Python sends it; delayed units count as AVAILABLE.
    count_work_units: method(1, async ([rawName]): Promise<Pair<Map<number, number> | false>> => {
      const name = readText(rawName, 'work_spec name')
      const spec = await findWorkSpec(namespace, name)
      if (!spec) return [false, noSuchWorkSpec(name)]
      const counts = new Map<number, number>()
      for (const [status, count] of Object.entries(await spec.countWorkUnitStatus())) {
        if (!count) continue
        const code = statusCode(status as WorkUnitStatus)
        counts.set(code, (counts.get(code) ?? 0) + count)
      }
      return ok(counts)
    }),

    // Deletes only what the options name: `all: true`, or keys (narrowed by `state` if given),
    // or a state. Empty options delete nothing (go-coordinate deleted every unit).
    del_work_units: method(2, async ([rawName, rawOptions]): Promise<Pair<number>> => {
      const name = readText(rawName, 'work_spec name')
      const options = readOptions(rawOptions, 'del_work_units options')
      const all = readOptionalBoolean(option(options, 'all'), 'all') === true
      const rawKeys = option(options, 'work_unit_keys')
      const names = rawKeys === undefined ? undefined : readKeys(rawKeys, 'work_unit_keys')
      const statuses = readStateOption(option(options, 'state'))
      const spec = await findWorkSpec(namespace, name)
      if (!spec) return [0, noSuchWorkSpec(name)]
      if (all) return ok(await spec.deleteWorkUnits({}))
      if (names === undefined && statuses === undefined) return [0, 'no usable options to del_work_units']
      // An empty list of keys or of states selects nothing; the backend reads an empty
      // statuses list as "any status", so never pass one down.
      if (names?.length === 0 || statuses?.length === 0) return ok(0)
      const query: WorkUnitQuery = {}
      if (names !== undefined) query.names = names
      if (statuses !== undefined) query.statuses = statuses
      return ok(await spec.deleteWorkUnits(query))
    }),

    // Python purges old finished units here; retention is the daemon's job in coordinate-ts,
    // so this only answers. The options are optional, as in Python (`options={}`).
    archive: method([0, 1], async ([rawOptions]): Promise<null> => {
      readOptions(rawOptions, 'archive options')
      return null
    }),
  }
}

/** The query get_work_units' options select, or null when they can select nothing. */
function readUnitSelection(options: DataDict): WorkUnitQuery | null {
  const rawKeys = option(options, 'work_unit_keys')
  if (rawKeys !== undefined) {
    const names = readKeys(rawKeys, 'work_unit_keys')
    return names.length === 0 ? null : { names }
  }
  const statuses = readStateOption(option(options, 'state'))
  const rawStart = option(options, 'start')
  const limit = readOptionalInteger(option(options, 'limit'), 'limit') ?? DEFAULT_UNIT_LIMIT
  if (limit < 1) throw new InvalidInputError(`limit must be at least 1, not ${limit}`)
  if (statuses?.length === 0) return null
  const query: WorkUnitQuery = { limit: Math.min(limit, MAX_UNIT_LIMIT) }
  if (statuses !== undefined) query.statuses = statuses
  if (rawStart !== undefined) query.previousName = readKey(rawStart, 'start')
  return query
}

/**
 * One unit's status entry: the code, the worker of the active attempt, the lease's end (Unix
 * seconds) while pending, and the traceback recorded on failure. An expired lease reads as
 * available with no worker.
 */
async function unitStatus(spec: WorkSpec, key: Uint8Array): Promise<WorkUnitStatusEntry | null> {
  const unit = await findWorkUnit(spec, key)
  if (!unit) return null
  const attempt = await unit.activeAttempt()
  const attemptStatus = attempt ? await attempt.status() : null
  if (!attempt || attemptStatus === 'expired' || attemptStatus === 'retryable') return { status: AVAILABLE }
  const status = attemptStatus === 'pending' ? PENDING : attemptStatus === 'finished' ? FINISHED : FAILED
  const entry: WorkUnitStatusEntry = { status, worker_id: attempt.worker.name }
  if (status === PENDING) entry.expiration = Math.floor((await attempt.expirationTime()).getTime() / SECOND)
  if (status === FAILED) {
    // The unit's effective data is the failed attempt's, where the worker put its traceback.
    const traceback = (await unit.data()).traceback
    if (traceback !== undefined && traceback !== null) entry.traceback = traceback
  }
  return entry
}
