import type { Namespace } from '../src/coordinate/api.js'
import { type DataValue, describe } from '../src/coordinate/data.js'
import { openCoordinate } from '../src/postgres/open.js'
import { RpcClient, claimed, pairValue } from './rpc-client.js'
import { timed, unitKey } from './support.js'
import { FINISHED } from '../src/jobserver/status-codes.js'
// get_work's options, the same in both loops: the spec asks for 1 GB, the lease is 5 minutes.
const LEASE_SECONDS = 300
const AVAILABLE_GB = 1
// Units are added in batches of this many, as a loader script would batch them.
const ADD_BATCH = 5_000

/** One claim+finish loop's shape. */
export interface LoopShape {
  /** CBOR-RPC connections, or library workers. */
  workers: number
  maxJobs: number
  /** Units made ready for it; the loop stops when they run out or the time is up. */
  units: number
  seconds: number
}

/** How many units a loop finished and how fast. */
export interface LoopResult {
  done: number
  rate: number
}

/** Adds `count` units with small data to a spec of `namespace` (a fresh spec replaces any old one). */
export async function loadUnits(databaseUrl: string, namespace: string, spec: string, count: number): Promise<void> {
  const coordinate = await openCoordinate({ databaseUrl })
  try {
    const ns = await coordinate.namespace(namespace)
    await addUnits(ns, spec, count)
  } finally {
    await coordinate.close()
  }
}

async function addUnits(ns: Namespace, name: string, count: number): Promise<void> {
  // One spec per namespace, so that both loops' claims choose among the same: the last run's goes.
  for (const old of await ns.workSpecNames()) await ns.destroyWorkSpec(old)
  const spec = await ns.setWorkSpec({ name, min_gb: 1 })
  for (let start = 0; start < count; start += ADD_BATCH) {
    await spec.addWorkUnits(Array.from({ length: Math.min(ADD_BATCH, count - start) }, (_, i) => ({ key: unitKey(start + i), data: { i: start + i } })))
  }
}

/**
 * The Python worker's shape over CBOR-RPC: get_work, then one update_work_unit per unit it got,
 * with what the Python client sends on finish (status and the unit's data, no worker_id).
 */
export async function daemonLoop(port: number, shape: LoopShape): Promise<LoopResult> {
  const clients = await Promise.all(Array.from({ length: shape.workers }, () => RpcClient.connect(port)))
  const deadline = performance.now() + shape.seconds * 1000
  let done = 0
  try {
    const { ms } = await timed(() =>
      Promise.all(
        clients.map(async (client, w) => {
          const options = { available_gb: AVAILABLE_GB, max_jobs: shape.maxJobs, lease_time: LEASE_SECONDS }
          while (performance.now() < deadline) {
            const units = claimed(pairValue(await client.call('get_work', [`w${w}`, options]), 'get_work'))
            if (units.length === 0) return
            for (const unit of units) {
              const [spec, key, data] = unit.items
              const update = { status: FINISHED, data: (data ?? {}) as DataValue }
              const updated = pairValue(await client.call('update_work_unit', [spec ?? null, key ?? null, update]), 'update_work_unit')
              if (updated !== true) throw new Error(`update_work_unit did not finish ${describe(key ?? null)}`)
              done++
            }
          }
        }),
      ),
    )
    return { done, rate: done / (ms / 1000) }
  } finally {
    await Promise.all(clients.map((client) => client.close()))
  }
}

/** The same per-unit round trips in this process without the daemon: requestAttempts, then finish() on each attempt. */
export async function libraryLoop(databaseUrl: string, namespace: string, shape: LoopShape): Promise<LoopResult> {
  // Default options, as the daemon opens its own: the same pool size, lease sweep and notifications.
  const coordinate = await openCoordinate({ databaseUrl })
  try {
    const ns = await coordinate.namespace(namespace)
    const workers = await Promise.all(Array.from({ length: shape.workers }, (_, i) => ns.worker(`w${i}`)))
    const deadline = performance.now() + shape.seconds * 1000
    let done = 0
    const { ms } = await timed(() =>
      Promise.all(
        workers.map(async (worker) => {
          while (performance.now() < deadline) {
            // What get_work asks for (src/jobserver/work.ts), so both loops claim alike.
            const attempts = await worker.requestAttempts({
              numberOfWorkUnits: shape.maxJobs,
              availableGb: AVAILABLE_GB,
              lifetimeMs: LEASE_SECONDS * 1000,
              runtimes: [''],
            })
            if (attempts.length === 0) return
            for (const attempt of attempts) {
              await attempt.finish()
              done++
            }
          }
        }),
      ),
    )
    return { done, rate: done / (ms / 1000) }
  } finally {
    await coordinate.close()
  }
}
