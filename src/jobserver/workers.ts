import type { Attempt, Worker } from '../coordinate/api.js'
import { SECOND } from '../coordinate/clock.js'
import type { DataDict, DataValue } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { validateWorkerUpdate } from '../coordinate/request-validation.js'
import { READ_PARALLELISM, mapLimit } from '../coordinate/map-limit.js'
import { findWorker, noSuchWorker } from './lookups.js'
import { type JobServerContext, type MethodTable, type Pair, method, ok } from './method.js'
import { defineEntry, readDict, readNumber, readOptionalText, readText } from './params.js'

/** Heartbeat lifetimes below zero become this many seconds (Python's rule, with its message). */
export const NEGATIVE_LIFETIME_DEFAULT_SECONDS = 300
/** Heartbeat lifetimes above a day become this many seconds (Python's rule, with its message). */
export const HUGE_LIFETIME_DEFAULT_SECONDS = 3600
const MAX_LIFETIME_SECONDS = 24 * 3600

/**
 * Worker methods: worker_heartbeat, worker_unregister, list_worker_modes, get_worker_info,
 * mode_counts, worker_stats, get_child_work_units and get_config.
 */
export function workerMethods({ namespace, clock, config }: JobServerContext): MethodTable {
  // Python forgets a worker once its heartbeat lifetime runs out or it unregisters; these are
  // the workers its listings show.
  async function liveWorkers(): Promise<{ worker: Worker; mode: string }[]> {
    const now = clock.now().getTime()
    const workers = await namespace.workers()
    const states = await mapLimit(workers, READ_PARALLELISM, async (worker) => {
      const [active, expiration, mode] = await Promise.all([worker.active(), worker.expiration(), worker.mode()])
      return active && expiration.getTime() >= now ? { worker, mode } : null
    })
    return states.filter((state): state is { worker: Worker; mode: string } => state !== null)
  }

  return {
    // (worker_id, mode, lifetime seconds, environment dict, parent). A null or empty parent
    // means none (go-coordinate made a worker named "" the parent of every top-level worker).
    worker_heartbeat: method(5, async ([rawId, rawMode, rawLifetime, rawEnvironment, rawParent]): Promise<Pair<boolean>> => {
      const workerId = readText(rawId, 'worker_id')
      const mode = readOptionalText(rawMode, 'mode') ?? ''
      let lifetime = readNumber(rawLifetime, 'lifetime')
      const environment = rawEnvironment === null || rawEnvironment === undefined ? {} : readDict(rawEnvironment, 'environment')
      const parentId = readOptionalText(rawParent, 'parent') ?? ''
      let message: string | null = null
      if (lifetime < 0) {
        message = `negative expire time ${lifetime} defaulted to 5 minutes`
        lifetime = NEGATIVE_LIFETIME_DEFAULT_SECONDS
      } else if (lifetime > MAX_LIFETIME_SECONDS) {
        message = `huge expire time ${lifetime} defaulted to one hour`
        lifetime = HUGE_LIFETIME_DEFAULT_SECONDS
      }

      const now = clock.now()
      const update = { data: environment, mode, now, expiration: new Date(now.getTime() + lifetime * SECOND) }
      // Before the worker is created: a refused heartbeat must leave nothing behind.
      validateWorkerUpdate(update)
      if (parentId === workerId) throw new InvalidInputError('a worker cannot be its own parent')
      const worker = await namespace.worker(workerId)
      await worker.setParent(parentId === '' ? null : await namespace.worker(parentId))
      await worker.update(update)
      return [true, message]
    }),

    worker_unregister: method(1, async ([rawId]): Promise<Pair<boolean>> => {
      const workerId = readText(rawId, 'worker_id')
      const worker = await findWorker(namespace, workerId)
      if (!worker) return [false, noSuchWorker(workerId)]
      await worker.deactivate()
      return ok(true)
    }),

    // A pair, as Python sends it: go-coordinate's bare map breaks `coordinate workers`.
    list_worker_modes: method(0, async (): Promise<Pair<DataDict>> => {
      const modes: DataDict = {}
      for (const { worker, mode } of await liveWorkers()) defineEntry(modes, worker.name, mode)
      return ok(modes)
    }),

    // The last heartbeat's environment, or null for a worker never heard from (not an error).
    get_worker_info: method(1, async ([rawId]): Promise<Pair<DataDict | null>> => {
      const worker = await findWorker(namespace, readText(rawId, 'worker_id'))
      return ok(worker ? await worker.data() : null)
    }),

    // A pair, for the same reason as list_worker_modes.
    mode_counts: method(0, async (): Promise<Pair<DataDict>> => {
      const counts: DataDict = {}
      for (const { mode } of await liveWorkers()) {
        const before = Object.hasOwn(counts, mode) ? (counts[mode] as number) : 0
        defineEntry(counts, mode, before + 1)
      }
      return ok(counts)
    }),

    // A bare map: the CLI prints what comes back.
    worker_stats: method(0, async (): Promise<DataDict> => {
      const live = await liveWorkers()
      const parents = await mapLimit(live, READ_PARALLELISM, ({ worker }) => worker.parent())
      const children = parents.filter((parent) => parent !== null).length
      return { num_workers: live.length, num_children: children, num_expirable: live.length }
    }),

    // {child id: [unit dict…]} for each direct child, idle children with an empty list. Each
    // unit dict describes the unit's current active attempt, which may no longer be the
    // child's own (Python clients rebuild WorkUnit objects from these and see who holds it).
    get_child_work_units: method(1, async ([rawId]): Promise<Pair<DataDict>> => {
      const parent = await findWorker(namespace, readText(rawId, 'worker_id'))
      const result: DataDict = {}
      if (!parent) return ok(result)
      for (const child of await parent.children()) {
        const attempts = await child.activeAttempts()
        defineEntry(result, child.name, await mapLimit(attempts, READ_PARALLELISM, childUnit))
      }
      return ok(result)
    }),

    // Always a map (empty without one): go-coordinate's "no config to get" error broke `coordinate config`.
    get_config: method(0, async (): Promise<Pair<DataDict>> => ok(config)),
  }
}

async function childUnit(attempt: Attempt): Promise<DataValue> {
  const unit = attempt.workUnit
  const current = (await unit.activeAttempt()) ?? attempt
  const [data, expires] = await Promise.all([current.data(), current.expirationTime()])
  return {
    work_spec_name: unit.workSpec.name,
    work_unit_key: unit.key,
    work_unit_data: data,
    worker_id: current.worker.name,
    expires: Math.floor(expires.getTime() / SECOND),
  }
}
