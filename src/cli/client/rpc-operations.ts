import type { CborRpcClient } from '../../cborrpc/client.js'
import { type DataDict, type DataValue, Tuple, isDataDict } from '../../coordinate/data.js'
import { InvalidInputError, NoSuchWorkSpecError } from '../../coordinate/errors.js'
import type { WorkUnitStatus } from '../../coordinate/status.js'
import { AVAILABLE, FAILED, FINISHED, PAUSED, PENDING, RUNNABLE } from '../../jobserver/status-codes.js'
import type { NewUnit, Operations, UnitCounts, UnitEntry, UnitPageQuery, UnitSelection, UnitStatusEntry, WorkerEntry } from './operations.js'

const SPEC_PAGE = 1000
/** Connections a load sends batches on at once. */
export const LOAD_CONNECTIONS = 2
const utf8 = new TextDecoder('utf-8', { fatal: false })

/** Python's status codes by name; `delayed` is AVAILABLE on the wire. */
const CODES: Record<WorkUnitStatus, number> = { available: AVAILABLE, delayed: AVAILABLE, pending: PENDING, finished: FINISHED, failed: FAILED }
const NAMES = new Map<number, WorkUnitStatus>([
  [AVAILABLE, 'available'],
  [PENDING, 'pending'],
  [FINISHED, 'finished'],
  [FAILED, 'failed'],
])

/** The daemon's answer was not shaped as the protocol says. */
export class UnexpectedAnswerError extends Error {
  override name = 'UnexpectedAnswerError'
}

/**
 * The operations over a CBOR-RPC daemon (coordinated, or Python's or go's server), sending the
 * JobQueue methods as the Python client does. The daemon serves one namespace.
 */
export function rpcOperations(connect: () => CborRpcClient): Operations {
  const client = connect()
  // Connections for batches of a load: each carries one request at a time, so two of them let
  // the daemon decode one batch while the database writes the other.
  const loaders = [client]
  const idle = [client]
  const waiting: ((loader: CborRpcClient) => void)[] = []
  const borrow = (): Promise<CborRpcClient> => {
    const free = idle.pop()
    if (free) return Promise.resolve(free)
    if (loaders.length < LOAD_CONNECTIONS) {
      const added = connect()
      loaders.push(added)
      return Promise.resolve(added)
    }
    return new Promise((resolve) => waiting.push(resolve))
  }
  const giveBack = (loader: CborRpcClient): void => {
    const next = waiting.shift()
    if (next) next(loader)
    else idle.push(loader)
  }
  const call = async (method: string, params: DataValue[], via = client): Promise<unknown> => via.call(method, params)
  // Most methods answer (value, message); a missing spec shows up in the message.
  const pairCall = async (method: string, name: string, params: DataValue[], via = client): Promise<unknown> => {
    const [value, message] = pair(await call(method, params, via), method)
    if (message !== null && /no such work[_ ]spec/i.test(message)) throw new NoSuchWorkSpecError(name)
    if (message !== null && (value === false || value === null)) throw new UnexpectedAnswerError(`${method}: ${message}`)
    return value
  }

  return {
    target: client.address,

    async workSpecNames() {
      const names: string[] = []
      let start: string | null = null
      do {
        const [specs, next] = pair(await call('list_work_specs', [start === null ? { limit: SPEC_PAGE } : { limit: SPEC_PAGE, start }]), 'list_work_specs')
        for (const spec of list(specs, 'list_work_specs')) if (isDataDict(spec)) names.push(text(spec.name))
        start = next
      } while (start !== null)
      return names.sort()
    },

    async workSpec(name) {
      const spec = await call('get_work_spec', [name])
      return isDataDict(spec) ? spec : null
    },

    async setWorkSpec(spec) {
      await pairCall('set_work_spec', text(spec.name ?? ''), [spec])
    },

    async deleteWorkSpec(name) {
      try {
        return (await pairCall('del_work_spec', name, [name])) === true
      } catch (error) {
        if (error instanceof NoSuchWorkSpecError) return false
        throw error
      }
    },

    async deleteAllWorkSpecs() {
      const count = await call('clear', [])
      return typeof count === 'number' ? count : 0
    },

    async countUnits(name) {
      const value = await pairCall('count_work_units', name, [name])
      const counts: UnitCounts = {}
      const entries = value instanceof Map ? [...value.entries()] : isDataDict(value) ? Object.entries(value).map(([k, v]) => [Number(k), v]) : []
      for (const [code, count] of entries) {
        const status = NAMES.get(Number(code))
        if (status && typeof count === 'number') counts[status] = (counts[status] ?? 0) + count
      }
      return counts
    },

    async addUnits(name, units: readonly NewUnit[]) {
      const loader = await borrow()
      try {
        await pairCall('add_work_units', name, [name, units.map((unit) => Tuple.of(unit.key, unit.data))], loader)
      } finally {
        giveBack(loader)
      }
    },

    async unitPage(name, query: UnitPageQuery): Promise<UnitEntry[]> {
      const options: DataDict = { limit: query.limit }
      if (query.statuses) options.state = [...new Set(query.statuses.map((status) => CODES[status]))]
      if (query.after) options.start = query.after
      const entries = list(await pairCall('get_work_units', name, [name, options]), 'get_work_units').map(unitEntry)
      // Python's server includes `start` in the page; ours and go's start after it.
      const after = query.after
      return after && entries[0] && Buffer.compare(entries[0].key, after) === 0 ? entries.slice(1) : entries
    },

    async unitStatuses(name, keys) {
      const answers = list(await pairCall('get_work_unit_status', name, [name, [...keys]]), 'get_work_unit_status')
      return keys.map((key, i) => statusEntry(key, answers[i] ?? null))
    },

    async retryUnits(name, keys) {
      const statuses = await this.unitStatuses(name, keys.map((key) => utf8.decode(key)))
      let retried = 0
      for (const [i, key] of keys.entries()) {
        if (statuses[i]?.status !== 'failed') continue
        if ((await pairCall('update_work_unit', name, [name, key, { status: AVAILABLE, lease_time: 0 }])) === true) retried++
      }
      return retried
    },

    async prioritize(name, keys, priority) {
      await pairCall('prioritize_work_units', name, [name, { work_unit_keys: [...keys], priority, adjustment: null }])
    },

    async deleteUnits(name, selection: UnitSelection) {
      const options: DataDict = {}
      if (selection.all) options.all = true
      else {
        if (selection.keys) options.work_unit_keys = [...selection.keys]
        if (selection.status) options.state = CODES[selection.status]
      }
      const count = await pairCall('del_work_units', name, [name, options])
      return typeof count === 'number' ? count : 0
    },

    async setPaused(name, paused) {
      await pairCall('control_work_spec', name, [name, { status: paused ? PAUSED : RUNNABLE }])
    },

    // The daemon lists live workers only; `all` cannot see further over this protocol.
    async workers(): Promise<WorkerEntry[]> {
      const [modes] = pair(await call('list_worker_modes', []), 'list_worker_modes')
      if (!isDataDict(modes)) return []
      return Object.entries(modes)
        .map(([name, mode]) => ({ name, mode: mode === null ? '' : text(mode), alive: true }))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    },

    async workerInfo(name) {
      const [info] = pair(await call('get_worker_info', [name]), 'get_worker_info')
      return isDataDict(info) ? info : null
    },

    async workerStats() {
      const stats = await call('worker_stats', [])
      return isDataDict(stats) ? stats : {}
    },

    close: async () => {
      await Promise.all(loaders.map((loader) => loader.close()))
    },
  }
}

/** Splits a (value, message) answer, sent as a list or a tag-128 tuple. */
function pair(answer: unknown, method: string): [unknown, string | null] {
  const items = answer instanceof Tuple ? answer.items : answer
  if (!Array.isArray(items) || items.length !== 2) throw new UnexpectedAnswerError(`${method} answered something other than a (value, message) pair`)
  const message = items[1]
  return [items[0], message === null || message === undefined ? null : text(message as DataValue)]
}

function list(value: unknown, method: string): DataValue[] {
  const items = value instanceof Tuple ? value.items : value
  if (!Array.isArray(items)) throw new UnexpectedAnswerError(`${method} answered something other than a list`)
  return items
}

/** Text or a Python 2 byte string, as text. */
function text(value: DataValue | undefined): string {
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) return utf8.decode(value)
  throw new InvalidInputError(`expected a string, not ${String(value)}`)
}

function keyBytes(value: DataValue | undefined): Uint8Array {
  if (value instanceof Uint8Array) return value
  if (typeof value === 'string') return new Uint8Array(Buffer.from(value, 'utf8'))
  throw new UnexpectedAnswerError('a work unit key is neither bytes nor text')
}

function unitEntry(item: DataValue): UnitEntry {
  const [key, data] = item instanceof Tuple ? item.items : Array.isArray(item) ? item : []
  return { key: keyBytes(key), data: isDataDict(data) ? data : {} }
}

function statusEntry(key: string, answer: DataValue): UnitStatusEntry | null {
  if (!isDataDict(answer)) return null
  const entry: UnitStatusEntry = { key: new Uint8Array(Buffer.from(key, 'utf8')), status: NAMES.get(Number(answer.status)) ?? 'available' }
  if (answer.worker_id !== undefined && answer.worker_id !== null) entry.workerId = text(answer.worker_id)
  if (typeof answer.expiration === 'number' && entry.status === 'pending') entry.expiration = new Date(answer.expiration * 1000)
  if (answer.traceback !== undefined && answer.traceback !== null) entry.traceback = answer.traceback
  return entry
}
