import type { Attempt, Coordinate, WorkSpec } from '../coordinate/api.js'
import type { Clock } from '../coordinate/clock.js'
import { type DataDict, workUnitKeyName } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { WORK_UNIT_STATUSES, type WorkUnitStatus } from '../coordinate/status.js'
import { parseWorkUnitOutput } from '../coordinate/work-unit-output.js'
import { snapshotData, snapshotStatus } from '../coordinate/work-unit-snapshot.js'
import type { WorkSpecMeta } from '../coordinate/work-spec-meta.js'
import type { DashboardQueries, ThroughputRow, UnitCursor, UnitSort } from '../postgres/dashboard-queries.js'
import type {
  AttemptView,
  Overview,
  OverviewSpec,
  SpecDetail,
  SpecMeta,
  StatusCounts,
  Throughput,
  UnitDetail,
  UnitPage,
  UnitRow,
  WorkersPage,
} from './dashboard-types.js'
import { bytesDisplay, toDisplay, tracebackOf, utf8OrNull } from './display-value.js'
import { encodeName } from './names.js'

// What the dashboard's read routes answer, built from the Coordinate interface plus the few
// dashboard queries that need SQL. No HTTP here: the routes file maps requests onto these.

/** Where the dashboard reads from. */
export interface DashboardSources {
  coordinate: Coordinate
  queries: DashboardQueries
  clock: Clock
}

const MINUTE_MS = 60_000
const HOUR_MINUTES = 60
/** The most workers the workers page lists. */
const MAX_WORKERS = 2000
/** The most chained units a unit page names. */
const MAX_CHAINED = 100

/** Every namespace with its specs' counts and settings, throughput over the last hour, and what needs a look. */
export async function overview(sources: DashboardSources): Promise<Overview> {
  const now = sources.clock.now()
  const since = hourStart(now)
  const [namespaces, summary, stuck, throughputRows, workerCounts] = await Promise.all([
    sources.coordinate.namespaces(),
    sources.coordinate.summarize(),
    sources.queries.stuck(),
    sources.queries.throughput(since),
    sources.queries.workerCounts(),
  ])
  const counts = new Map<string, StatusCounts>()
  for (const record of summary) {
    const id = specId(record.namespace, record.workSpec)
    const c = counts.get(id) ?? emptyCounts()
    c[record.status] += record.count
    counts.set(id, c)
  }
  const stuckBySpec = new Map(stuck.map((r) => [specId(r.namespace, r.workSpec), r.expired]))
  const hourBySpec = new Map<string, { finished: number; failed: number }>()
  for (const row of throughputRows) {
    const id = specId(row.namespace, row.workSpec)
    const total = hourBySpec.get(id) ?? { finished: 0, failed: 0 }
    total.finished += row.finished
    total.failed += row.failed
    hourBySpec.set(id, total)
  }
  const result = await Promise.all(
    namespaces.map(async (ns) => {
      const names = await ns.workSpecNames()
      const specs = await Promise.all(
        names.map(async (name): Promise<OverviewSpec | null> => {
          const meta = await metaOrNull(ns.workSpec(name))
          if (meta === null) return null
          const id = specId(ns.name, name)
          const hour = hourBySpec.get(id) ?? { finished: 0, failed: 0 }
          return {
            name,
            counts: counts.get(id) ?? emptyCounts(),
            paused: meta.paused,
            priority: meta.priority,
            weight: meta.weight,
            stuck: stuckBySpec.get(id) ?? 0,
            finishedLastHour: hour.finished,
            failedLastHour: hour.failed,
          }
        }),
      )
      const workers = workerCounts.find((w) => w.namespace === ns.name)
      return { name: ns.name, specs: specs.filter((s): s is OverviewSpec => s !== null), workers: { active: workers?.active ?? 0, stale: workers?.stale ?? 0 } }
    }),
  )
  return { now: now.toISOString(), namespaces: result, throughput: perMinute(throughputRows, since) }
}

/** One spec's definition, settings, counts and throughput. */
export async function specDetail(sources: DashboardSources, namespace: string, spec: string): Promise<SpecDetail> {
  const now = sources.clock.now()
  const since = hourStart(now)
  const workSpec = await (await sources.coordinate.namespace(namespace)).workSpec(spec)
  const [snapshot, counts, stuck, throughputRows] = await Promise.all([
    workSpec.snapshot(),
    workSpec.countWorkUnitStatus(),
    sources.queries.stuck(namespace),
    sources.queries.throughput(since, namespace),
  ])
  return {
    now: now.toISOString(),
    namespace,
    name: spec,
    definition: toDisplay(snapshot.data),
    meta: specMeta(snapshot.meta),
    counts: { ...emptyCounts(), ...counts },
    stuck: stuck.find((r) => r.workSpec === spec)?.expired ?? 0,
    throughput: perMinute(throughputRows.filter((r) => r.workSpec === spec), since),
  }
}

/** What a unit listing request asks for, as the route read it from the query string. */
export interface UnitPageRequest {
  statuses: WorkUnitStatus[]
  prefix: string
  sort: string
  after: string
  limit: number
}

/** A page of a spec's units, filtered, searched and sorted, with the cursor of the next page. */
export async function unitPage(sources: DashboardSources, namespace: string, spec: string, request: UnitPageRequest): Promise<UnitPage> {
  // Answers 404 for a spec that does not exist rather than an empty page.
  await (await sources.coordinate.namespace(namespace)).workSpec(spec)
  const sort = parseSort(request.sort)
  for (const status of request.statuses) {
    if (!WORK_UNIT_STATUSES.includes(status)) throw new InvalidInputError(`unknown work unit status ${JSON.stringify(status)}`)
  }
  const rows = await sources.queries.listUnits({
    namespace,
    workSpec: spec,
    statuses: request.statuses,
    ...(request.prefix === '' ? {} : { prefix: Buffer.from(request.prefix, 'utf8') }),
    sort,
    ...(request.after === '' ? {} : { after: decodeCursor(request.after) }),
    limit: request.limit,
  })
  const units: UnitRow[] = rows.map((r) => ({
    ...keyFields(r.key),
    status: r.status,
    priority: r.priority,
    notBefore: r.notBefore?.toISOString() ?? null,
    worker: r.worker,
    lastTime: r.lastTime?.toISOString() ?? null,
  }))
  const last = rows[rows.length - 1]
  const next = rows.length === request.limit && last !== undefined ? encodeCursor({ key: last.key, priority: last.priority, time: last.lastTime?.getTime() ?? null }) : null
  return { units, next }
}

/** One unit with its data, every attempt, and the units its output chained to. */
export async function unitDetail(sources: DashboardSources, namespace: string, spec: string, key: Uint8Array): Promise<UnitDetail> {
  const now = sources.clock.now()
  const ns = await sources.coordinate.namespace(namespace)
  const workSpec = await ns.workSpec(spec)
  const unit = await workSpec.workUnit(key)
  const [snapshot, attempts, active, meta] = await Promise.all([unit.snapshot(), unit.attempts(), unit.activeAttempt(), workSpec.meta()])
  const views = await Promise.all(attempts.map((attempt) => attemptView(attempt, active?.id ?? null)))
  const chainedFrom = [...views].reverse().find((a) => a.status === 'finished')
  const chainedAttempt = chainedFrom && attempts.find((a) => a.id === chainedFrom.id)
  return {
    now: now.toISOString(),
    namespace,
    workSpec: spec,
    ...keyFields(unit.key),
    keyBytes: bytesDisplay(unit.key),
    status: snapshotStatus(snapshot, now),
    priority: snapshot.priority,
    notBefore: snapshot.notBefore?.toISOString() ?? null,
    data: toDisplay(snapshotData(snapshot, now)),
    attempts: views,
    chained: meta.nextWorkSpecName === '' || chainedAttempt === undefined ? null : await chained(ns, meta.nextWorkSpecName, await chainedAttempt.data(), now),
  }
}

/** A namespace's workers, their heartbeats and the leases they hold. */
export async function workersPage(sources: DashboardSources, namespace: string): Promise<WorkersPage> {
  const now = sources.clock.now()
  const { workers, attempts } = await sources.queries.workers(namespace, MAX_WORKERS)
  return {
    now: now.toISOString(),
    workers: workers.map((w) => ({
      name: w.name,
      parent: w.parent,
      mode: w.mode,
      active: w.active,
      stale: w.active && w.expiration.getTime() < now.getTime(),
      data: toDisplay(w.data),
      lastUpdate: w.lastUpdate.toISOString(),
      expiration: w.expiration.toISOString(),
      attempts: attempts.filter((a) => a.worker === w.name).map((a) => ({ workSpec: a.workSpec, ...keyFields(a.key) })),
    })),
  }
}

/** How many units a retry may touch in one request when given keys. */
export const MAX_RETRY_KEYS = 10_000
const RETRY_BATCH = 500

/**
 * Makes units available again: the given ones if they are finished or failed, or (no keys) every
 * failed unit of the spec. Returns how many changed. Each unit is its own write, so a unit a
 * worker takes meanwhile is simply skipped.
 */
export async function retryUnits(sources: DashboardSources, namespace: string, spec: string, keys?: readonly Uint8Array[]): Promise<number> {
  const workSpec = await (await sources.coordinate.namespace(namespace)).workSpec(spec)
  if (keys !== undefined) {
    if (keys.length > MAX_RETRY_KEYS) throw new InvalidInputError(`at most ${MAX_RETRY_KEYS} keys per retry`)
    const units = await workSpec.workUnits({ names: keys, statuses: ['failed', 'finished'] })
    await Promise.all(units.map((u) => u.clearActiveAttempt()))
    return units.length
  }
  let retried = 0
  let previousName: Uint8Array | undefined
  for (;;) {
    const units = await workSpec.workUnits({ statuses: ['failed'], limit: RETRY_BATCH, ...(previousName ? { previousName } : {}) })
    await Promise.all(units.map((u) => u.clearActiveAttempt()))
    retried += units.length
    if (units.length < RETRY_BATCH) return retried
    previousName = units[units.length - 1]!.key
  }
}

async function attemptView(attempt: Attempt, activeId: string | null): Promise<AttemptView> {
  const times = Promise.all([attempt.startTime(), attempt.endTime(), attempt.expirationTime()])
  const [status, data, [startTime, endTime, expirationTime]] = await Promise.all([attempt.status(), attempt.data(), times])
  return {
    id: attempt.id,
    worker: attempt.worker.name,
    status,
    startTime: startTime.toISOString(),
    endTime: endTime?.toISOString() ?? null,
    expirationTime: expirationTime.toISOString(),
    active: attempt.id === activeId,
    data: toDisplay(data),
    traceback: tracebackOf(data),
  }
}

async function chained(ns: Awaited<ReturnType<Coordinate['namespace']>>, then: string, data: DataDict, now: Date): Promise<UnitDetail['chained']> {
  const outputs = parseWorkUnitOutput(data.output, now)
  if (outputs.length === 0) return null
  const shown = outputs.slice(0, MAX_CHAINED)
  let existing = new Set<string>()
  try {
    const thenSpec = await ns.workSpec(then)
    const snapshots = await thenSpec.workUnitSnapshots(shown.map((o) => o.key))
    existing = new Set(snapshots.map((s) => encodeName(s.key)))
  } catch {
    // The then spec is gone: every chained unit shows as gone.
  }
  return {
    workSpec: then,
    units: shown.map((o) => ({ key: encodeName(o.key), name: workUnitKeyName(o.key), exists: existing.has(encodeName(o.key)) })),
    more: outputs.length - shown.length,
  }
}

function keyFields(key: Uint8Array): { key: string; name: string; binary: boolean } {
  return { key: encodeName(key), name: workUnitKeyName(key), binary: utf8OrNull(key) === null }
}

function specMeta(meta: WorkSpecMeta): SpecMeta {
  return {
    priority: meta.priority,
    weight: meta.weight,
    paused: meta.paused,
    continuous: meta.continuous,
    canBeContinuous: meta.canBeContinuous,
    maxRunning: meta.maxRunning,
    maxGetwork: meta.maxAttemptsReturned,
    maxRetries: meta.maxRetries,
    minMemoryGb: meta.minMemoryGb,
    intervalMs: meta.intervalMs,
    then: meta.nextWorkSpecName,
    runtime: meta.runtime,
  }
}

async function metaOrNull(spec: Promise<WorkSpec>): Promise<WorkSpecMeta | null> {
  try {
    return await (await spec).meta()
  } catch {
    // Deleted between listing the names and reading it.
    return null
  }
}

function hourStart(now: Date): Date {
  return new Date(Math.floor(now.getTime() / MINUTE_MS) * MINUTE_MS - (HOUR_MINUTES - 1) * MINUTE_MS)
}

function perMinute(rows: readonly ThroughputRow[], since: Date): Throughput {
  const finished = new Array<number>(HOUR_MINUTES).fill(0)
  const failed = new Array<number>(HOUR_MINUTES).fill(0)
  for (const row of rows) {
    const i = Math.floor((row.minute.getTime() - since.getTime()) / MINUTE_MS)
    if (i < 0 || i >= HOUR_MINUTES) continue
    finished[i]! += row.finished
    failed[i]! += row.failed
  }
  return { start: since.toISOString(), finished, failed }
}

function emptyCounts(): StatusCounts {
  return { available: 0, pending: 0, delayed: 0, finished: 0, failed: 0 }
}

function specId(namespace: string, spec: string): string {
  return `${namespace}\u0000${spec}`
}

function parseSort(sort: string): UnitSort {
  if (sort === '' || sort === 'key') return 'key'
  if (sort === 'priority' || sort === 'time') return sort
  throw new InvalidInputError(`sort must be key, priority or time, not ${JSON.stringify(sort)}`)
}

/** The opaque `after` cursor of a unit listing: base64url JSON of the last row's sort values. */
export function encodeCursor(cursor: UnitCursor): string {
  const json = { k: Buffer.from(cursor.key).toString('base64url'), p: cursor.priority, t: cursor.time }
  return Buffer.from(JSON.stringify(json)).toString('base64url')
}

/** Reads an `after` cursor; InvalidInputError if it is not one this server made. */
export function decodeCursor(text: string): UnitCursor {
  try {
    const json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as { k?: unknown; p?: unknown; t?: unknown }
    if (typeof json.k !== 'string') throw new Error('no key')
    const priority = typeof json.p === 'number' ? json.p : undefined
    const time = typeof json.t === 'number' ? json.t : null
    return { key: new Uint8Array(Buffer.from(json.k, 'base64url')), ...(priority === undefined ? {} : { priority }), time }
  } catch {
    throw new InvalidInputError('after is not a cursor from a previous page')
  }
}
