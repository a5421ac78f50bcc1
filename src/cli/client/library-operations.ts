import type { Coordinate, Namespace, WorkSpec, WorkUnitQuery } from '../../coordinate/api.js'
import type { DataDict } from '../../coordinate/data.js'
import { GoneError, NoSuchWorkSpecError } from '../../coordinate/errors.js'
import type { WorkUnitStatus } from '../../coordinate/status.js'
import { snapshotData, snapshotStatus } from '../../coordinate/work-unit-snapshot.js'
import { READ_PARALLELISM, mapLimit } from '../../coordinate/map-limit.js'
import { findWorkSpec, findWorkUnit, findWorker } from '../../jobserver/lookups.js'
import type { NewUnit, Operations, UnitCounts, UnitEntry, UnitPageQuery, UnitSelection, UnitStatusEntry, WorkerEntry } from './operations.js'

/** The available filter also takes delayed units, as the daemon's status codes do. */
export function expandStatuses(statuses: readonly WorkUnitStatus[]): WorkUnitStatus[] {
  return statuses.flatMap((status) => (status === 'available' ? ['available', 'delayed'] : [status]) as WorkUnitStatus[])
}

/**
 * The operations over the library's Coordinate interface: a database opened from a URL, or any
 * other Coordinate (a REST client). `coordinate` is closed with the operations.
 */
export function libraryOperations(coordinate: Coordinate, namespace: Namespace, target: string): Operations {
  const spec = async (name: string): Promise<WorkSpec> => namespace.workSpec(name)
  const now = (): Date => new Date()

  return {
    target,
    workSpecNames: () => namespace.workSpecNames(),

    async workSpec(name) {
      const found = await findWorkSpec(namespace, name)
      return found ? found.data() : null
    },

    async setWorkSpec(data) {
      await namespace.setWorkSpec(data)
    },

    async deleteWorkSpec(name) {
      try {
        await namespace.destroyWorkSpec(name)
        return true
      } catch (error) {
        if (error instanceof NoSuchWorkSpecError || error instanceof GoneError) return false
        throw error
      }
    },

    async deleteAllWorkSpecs() {
      let count = 0
      for (const name of await namespace.workSpecNames()) if (await this.deleteWorkSpec(name)) count++
      return count
    },

    async countUnits(name): Promise<UnitCounts> {
      return (await spec(name)).countWorkUnitStatus()
    },

    async addUnits(name, units: readonly NewUnit[]) {
      await (await spec(name)).addWorkUnits(units)
    },

    async unitPage(name, query: UnitPageQuery): Promise<UnitEntry[]> {
      const found = await spec(name)
      const selection: WorkUnitQuery = { limit: query.limit }
      if (query.statuses) selection.statuses = expandStatuses(query.statuses)
      if (query.after) selection.previousName = query.after
      const units = await found.workUnits(selection)
      if (units.length === 0) return []
      // One query for every unit's data, instead of one per unit.
      const snapshots = await found.workUnitSnapshots(units.map((unit) => unit.key))
      const at = now()
      return snapshots
        .map((snapshot) => ({ key: snapshot.key, data: snapshotData(snapshot, at) }))
        .sort((a, b) => Buffer.compare(a.key, b.key))
    },

    async unitStatuses(name, keys): Promise<(UnitStatusEntry | null)[]> {
      const found = await spec(name)
      return mapLimit(keys, READ_PARALLELISM, async (key) => {
        const unit = await findWorkUnit(found, new Uint8Array(Buffer.from(key, 'utf8')))
        if (!unit) return null
        const snapshot = await unit.snapshot()
        const entry: UnitStatusEntry = { key: unit.key, status: snapshotStatus(snapshot, now()) }
        const attempt = entry.status === 'available' || entry.status === 'delayed' ? null : await unit.activeAttempt()
        if (attempt) entry.workerId = attempt.worker.name
        if (entry.status === 'pending' && snapshot.leaseExpires) entry.expiration = snapshot.leaseExpires
        const traceback = entry.status === 'failed' ? snapshotData(snapshot, now()).traceback : undefined
        if (traceback !== undefined && traceback !== null) entry.traceback = traceback
        return entry
      })
    },

    async retryUnits(name, keys) {
      const found = await spec(name)
      const retried = await mapLimit(keys, READ_PARALLELISM, async (key) => {
        const unit = await findWorkUnit(found, key)
        if (!unit || (await unit.status()) !== 'failed') return false
        await unit.clearActiveAttempt()
        return true
      })
      return retried.filter(Boolean).length
    },

    async prioritize(name, keys, priority) {
      if (keys.length > 0) await (await spec(name)).setWorkUnitPriorities({ names: keys }, priority)
    },

    async deleteUnits(name, selection: UnitSelection) {
      const found = await spec(name)
      if (selection.all) return found.deleteWorkUnits({})
      const query: WorkUnitQuery = {}
      if (selection.keys) {
        if (selection.keys.length === 0) return 0
        query.names = selection.keys
      }
      if (selection.status) query.statuses = expandStatuses([selection.status])
      return found.deleteWorkUnits(query)
    },

    async setPaused(name, paused) {
      await (await spec(name)).setMeta({ paused })
    },

    async workers(all): Promise<WorkerEntry[]> {
      const at = now().getTime()
      const entries = await mapLimit(await namespace.workers(), READ_PARALLELISM, async (worker) => {
        const [active, expiration, mode] = await Promise.all([worker.active(), worker.expiration(), worker.mode()])
        return { name: worker.name, mode, alive: active && expiration.getTime() >= at }
      })
      return entries.filter((entry) => all || entry.alive)
    },

    async workerInfo(name): Promise<DataDict | null> {
      const worker = await findWorker(namespace, name)
      return worker ? worker.data() : null
    },

    async workerStats(): Promise<DataDict> {
      const at = now().getTime()
      // null for a worker that is not alive, else whether it has a parent.
      const states = await mapLimit(await namespace.workers(), READ_PARALLELISM, async (worker) => {
        const [active, expiration] = await Promise.all([worker.active(), worker.expiration()])
        if (!active || expiration.getTime() < at) return null
        return (await worker.parent()) !== null
      })
      const alive = states.filter((state) => state !== null)
      return { num_workers: alive.length, num_children: alive.filter(Boolean).length, num_expirable: alive.length }
    },

    close: () => coordinate.close(),
  }
}
