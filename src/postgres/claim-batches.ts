import { Coalescer, MAX_REQUESTS_PER_STATEMENT, MAX_STATEMENTS_IN_FLIGHT, type Settled, settle, settleEach } from '../coordinate/coalescer.js'
import { ClosedError, DatabaseUnavailableError } from '../coordinate/errors.js'
import type { Store } from './store.js'
import { compareIds } from './sql/lock-order.js'
import { CLAIM_SQL, type ClaimRow } from './sql/claim.js'
import { CLAIM_FOR_WORKERS_SQL, type ClaimForWorkersRow } from './sql/claim-for-workers.js'

/** One worker's claim from one spec, as claim_work_units takes it (src/postgres/sql/claim.ts). */
export interface ClaimItem {
  specId: string
  workerId: string
  count: number
  now: Date
  expiration: Date
  maxRunning: number
  countAttempts: boolean
  namespaceId: string
  /** The remembered choice's specs fingerprint, checked by the claim; undefined when chosen afresh. */
  specCount?: string
  specVersion?: string
}

const batchers = new WeakMap<Store, Coalescer<ClaimItem, ClaimRow[]>>()

/**
 * Claims units for one worker. Claims that arrive while claim statements are in flight go
 * together in the next one: one round trip and one commit for all of them, instead of one
 * each queuing on the pool and the WAL flush. Each caller gets its own rows, or its own error.
 */
export function claimBatched(store: Store, item: ClaimItem): Promise<ClaimRow[]> {
  let batcher = batchers.get(store)
  if (batcher === undefined) {
    batcher = new Coalescer((items) => claimBatch(store, items), { maxInFlight: MAX_STATEMENTS_IN_FLIGHT, maxBatch: MAX_REQUESTS_PER_STATEMENT })
    batchers.set(store, batcher)
  }
  return batcher.call(item)
}

/** A claim on its own: the prepared single-claim statement, cheaper than the batch for one. */
function claimAlone(store: Store, item: ClaimItem): Promise<ClaimRow[]> {
  return store.call<ClaimRow>(CLAIM_SQL, [
    item.specId,
    item.workerId,
    item.count,
    item.now,
    item.expiration,
    item.maxRunning,
    item.countAttempts,
    item.namespaceId,
    item.specCount ?? null,
    item.specVersion ?? null,
  ])
}

/**
 * Runs a batch of claims in one statement and hands each claim its own rows. The statement is
 * all or nothing, so when it fails for a reason that may be one claim's own (a parameter the
 * checks before the batch let through), each claim runs alone to get its own answer; when the
 * database is down or closed, every claim gets that error, as each alone would.
 */
async function claimBatch(store: Store, items: ClaimItem[]): Promise<Settled<ClaimRow[]>[]> {
  if (items.length === 1) return [await settle(() => claimAlone(store, items[0] as ClaimItem))]
  // By spec (stably), so that every batch takes the spec-row locks of max_running in one order
  // and two batches in flight cannot wait on each other in a cycle.
  const order = items.map((_, i) => i).sort((a, b) => compareIds((items[a] as ClaimItem).specId, (items[b] as ClaimItem).specId) || a - b)
  const sorted = order.map((i) => items[i] as ClaimItem)
  let rows: ClaimForWorkersRow[]
  try {
    rows = await store.call<ClaimForWorkersRow>(CLAIM_FOR_WORKERS_SQL, [
      sorted.map((item) => item.specId),
      sorted.map((item) => item.workerId),
      sorted.map((item) => item.count),
      sorted.map((item) => item.now),
      sorted.map((item) => item.expiration),
      sorted.map((item) => item.maxRunning),
      sorted.map((item) => item.countAttempts),
      sorted.map((item) => item.namespaceId),
      sorted.map((item) => item.specCount ?? null),
      sorted.map((item) => item.specVersion ?? null),
    ])
  } catch (error) {
    if (error instanceof DatabaseUnavailableError || error instanceof ClosedError) throw error
    return settleEach(items, (item) => claimAlone(store, item), false)
  }
  const byItem: ClaimRow[][] = items.map(() => [])
  for (const { request, ...row } of rows) byItem[order[request - 1] as number]?.push(row)
  return byItem.map((value) => ({ ok: true, value }))
}
