import type { Namespace } from '../coordinate/api.js'
import { SECOND } from '../coordinate/clock.js'
import type { DataDict, DataValue } from '../coordinate/data.js'
import { GoneError, InvalidInputError, NoSuchWorkSpecError } from '../coordinate/errors.js'
import type { WorkSpecMetaUpdate } from '../coordinate/work-spec-meta.js'
import { READ_PARALLELISM, mapLimit } from '../coordinate/map-limit.js'
import { findWorkSpec, noSuchWorkSpec } from './lookups.js'
import { type JobServerContext, type MethodTable, type Pair, method, ok } from './method.js'
import {
  defineEntry,
  option,
  readDict,
  readOptionalBoolean,
  readOptionalInteger,
  readOptionalNumber,
  readOptionalText,
  readOptions,
  readText,
} from './params.js'
import { PAUSED, RUNNABLE, readStatusCode } from './status-codes.js'

/** list_work_specs' page size when the client sends no limit. */
export const DEFAULT_LIST_LIMIT = 1000

// Keys of a spec dict that the Python worker passes to import machinery; go-coordinate hands
// them back as byte strings and Python 2 code expects `str` there.
const BYTE_VALUED_KEYS = ['module', 'run_function']

/**
 * Work spec methods: list_work_specs, set_work_spec, del_work_spec, clear, get_work_spec,
 * control_work_spec, get_work_spec_meta and now.
 */
export function workSpecMethods({ namespace, clock }: JobServerContext): MethodTable {
  return {
    // Pages by name in UTF-8 byte order. `start` is the first name of the page: the client
    // passes the `next` of one page as the `start` of the following one.
    list_work_specs: method(1, async ([rawOptions]): Promise<Pair<DataDict[]>> => {
      const options = readOptions(rawOptions, 'list_work_specs options')
      const start = readOptionalText(option(options, 'start'), 'start')
      const limit = readOptionalInteger(option(options, 'limit'), 'limit') ?? DEFAULT_LIST_LIMIT
      if (limit < 1) throw new InvalidInputError(`limit must be at least 1, not ${limit}`)
      const names = sortByBytes(await namespace.workSpecNames())
      let first = start === undefined ? 0 : names.findIndex((name) => compareBytes(name, start) >= 0)
      if (first < 0) first = names.length
      const page = names.slice(first, first + limit)
      const specs = await mapLimit(page, READ_PARALLELISM, (name) => specDataOrNull(namespace, name))
      return [specs.filter((spec): spec is DataDict => spec !== null), names[first + limit] ?? null]
    }),

    set_work_spec: method(1, async ([rawSpec]): Promise<Pair<boolean>> => {
      await namespace.setWorkSpec(textifyTopLevel(readDict(rawSpec, 'work spec')))
      return ok(true)
    }),

    del_work_spec: method(1, async ([rawName]): Promise<Pair<boolean>> => {
      const name = readText(rawName, 'work_spec name')
      try {
        await namespace.destroyWorkSpec(name)
      } catch (error) {
        if (error instanceof NoSuchWorkSpecError) return [false, noSuchWorkSpec(name)]
        throw error
      }
      return ok(true)
    }),

    // A bare count, not a pair: the client returns whatever comes back.
    clear: method(0, async (): Promise<number> => {
      let count = 0
      for (const name of await namespace.workSpecNames()) {
        try {
          await namespace.destroyWorkSpec(name)
          count++
        } catch (error) {
          // Someone else deleted it first; it is gone either way.
          if (!(error instanceof NoSuchWorkSpecError)) throw error
        }
      }
      return count
    }),

    // Bare dict or null (the client's TaskMaster.get_work_spec does not unpack a pair).
    get_work_spec: method(1, async ([rawName]): Promise<DataDict | null> => {
      return specDataOrNull(namespace, readText(rawName, 'work_spec name'))
    }),

    control_work_spec: method(2, async ([rawName, rawOptions]): Promise<Pair<boolean>> => {
      const name = readText(rawName, 'work_spec name')
      const options = readOptions(rawOptions, 'control_work_spec options')
      const update: WorkSpecMetaUpdate = {}
      const continuous = readOptionalBoolean(option(options, 'continuous'), 'continuous')
      if (continuous !== undefined) update.continuous = continuous
      const status = option(options, 'status')
      if (status !== undefined) {
        const code = readStatusCode(status, 'work spec status')
        if (code !== RUNNABLE && code !== PAUSED) throw new InvalidInputError(`work spec status must be 1 (runnable) or 2 (paused), not ${code}`)
        update.paused = code === PAUSED
      }
      const weight = readOptionalInteger(option(options, 'weight'), 'weight')
      if (weight !== undefined) update.weight = weight
      const interval = readOptionalNumber(option(options, 'interval'), 'interval')
      if (interval !== undefined) {
        if (interval < 0) throw new InvalidInputError('interval must not be negative')
        update.intervalMs = Math.round(interval * SECOND)
      }
      const maxRunning = readOptionalInteger(option(options, 'max_running'), 'max_running')
      if (maxRunning !== undefined) update.maxRunning = maxRunning

      const spec = await findWorkSpec(namespace, name)
      if (!spec) return [false, noSuchWorkSpec(name)]
      if (update.continuous === true && !(await spec.meta()).canBeContinuous) {
        // Python's message; the meta layer would silently ignore the flag instead.
        return [false, `cannot make non-continuous work spec ${name} continuous`]
      }
      await spec.setMeta(update)
      return ok(true)
    }),

    get_work_spec_meta: method(1, async ([rawName]): Promise<Pair<DataDict | null>> => {
      const name = readText(rawName, 'work_spec name')
      const spec = await findWorkSpec(namespace, name)
      if (!spec) return [null, noSuchWorkSpec(name)]
      const meta = await spec.meta()
      return ok({
        status: meta.paused ? PAUSED : RUNNABLE,
        continuous: meta.continuous,
        interval: meta.intervalMs / SECOND,
        max_running: meta.maxRunning,
        weight: meta.weight,
      })
    }),

    // go-coordinate's liveness probe: the server clock in whole Unix seconds.
    now: method(0, async (): Promise<number> => Math.floor(clock.now().getTime() / SECOND)),
  }
}

/** A spec's dict as Python expects it back (module and run_function as byte strings), or null if there is no such spec. */
async function specDataOrNull(namespace: Namespace, name: string): Promise<DataDict | null> {
  let data: DataDict
  try {
    data = await (await namespace.workSpec(name)).data()
  } catch (error) {
    if (error instanceof NoSuchWorkSpecError || error instanceof GoneError) return null
    throw error
  }
  return byteifySpec(data)
}

/** Returns the spec dict with `module` and `run_function` as byte strings. */
export function byteifySpec(data: DataDict): DataDict {
  const copy: DataDict = { ...data }
  for (const key of BYTE_VALUED_KEYS) {
    const value = copy[key]
    if (typeof value === 'string') copy[key] = new Uint8Array(Buffer.from(value, 'utf8'))
  }
  return copy
}

/**
 * Turns top-level byte-string values into text, as go-coordinate did: a Python 2 spec from
 * YAML has `name`, `then`, `runtime`… as byte strings, and the meta derived from them and the
 * names other calls compare against are text. Nested values are kept exactly; bytes that are
 * not UTF-8 stay bytes (and fail validation if they are the name).
 */
export function textifyTopLevel(spec: DataDict): DataDict {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const copy: DataDict = { ...spec }
  for (const [key, value] of Object.entries(copy)) {
    if (!(value instanceof Uint8Array)) continue
    let text: DataValue = value
    try {
      text = decoder.decode(value)
    } catch {
      // Not UTF-8: keep the bytes.
    }
    defineEntry(copy, key, text)
  }
  return copy
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

// Postgres sorts by its collation; paging needs one order that `start` can be compared in.
function sortByBytes(names: string[]): string[] {
  return names.sort(compareBytes)
}
