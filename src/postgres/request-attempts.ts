import { sql } from 'kysely'
import type { Attempt, AttemptRequest } from '../coordinate/api.js'
import { encodeData } from '../coordinate/cbor-data.js'
import { DEFAULT_LEASE_MS } from '../coordinate/clock.js'
import { InvalidInputError } from '../coordinate/errors.js'
import {
  type SchedulerCandidate,
  canStartContinuous,
  chooseWorkSpec,
  continuousUnitName,
  unitsToClaim,
} from '../coordinate/scheduler.js'
import type { WorkSpecMeta } from '../coordinate/work-spec-meta.js'
import { PostgresAttempt } from './attempt.js'
import { completeAttempts } from './attempt-completion.js'
import { expireLeases } from './lease-expiry.js'
import type { Executor, Store } from './store.js'
import { META_COLUMNS, metaFromRow } from './work-spec-meta-sql.js'
import { PostgresWorkSpec } from './work-spec.js'
import { PostgresWorkUnit } from './work-unit.js'
import type { PostgresWorker } from './worker.js'

// A claim can come back empty when other workers took every unit the scheduler saw; the
// scheduler then runs again on fresh counts, a bounded number of times.
const MAX_ROUNDS = 5

interface Candidate extends SchedulerCandidate {
  id: string
  hasExpired: boolean
}

/**
 * The claim path: choose a spec from per-spec inputs (one query, no scan of units), then take
 * up to N of its available units in claim order with FOR UPDATE SKIP LOCKED, insert their
 * attempts and mark them pending, all in one statement. Specs with max_running lock their own
 * row first so the cap holds exactly across processes.
 */
export async function requestAttempts(worker: PostgresWorker, request: AttemptRequest): Promise<Attempt[]> {
  checkRequest(request)
  const store = worker.namespace.store
  const lifetimeMs = request.lifetimeMs ?? DEFAULT_LEASE_MS
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const now = store.now()
    const candidates = await schedulerInputs(store, worker.namespace.id, request, now)
    const chosen = chooseWorkSpec(candidates, now, {
      availableGb: request.availableGb,
      workSpecs: request.workSpecs,
      runtimes: request.runtimes,
    })
    const candidate = candidates.find((c) => c.name === chosen)
    if (!candidate) return []
    if (candidate.hasExpired) await expireLeases(store, candidate.id)
    const spec = new PostgresWorkSpec(worker.namespace, candidate.id, candidate.name)
    if (candidate.meta.availableCount === 0 && canStartContinuous(candidate.meta, now)) {
      await addContinuousUnit(store, candidate, now)
    }
    const count = unitsToClaim(candidate.meta, request.numberOfWorkUnits)
    if (count === 0) continue
    const expiration = new Date(now.getTime() + lifetimeMs)
    const claimed = await claimUnits(store, candidate, worker.id, count, now, expiration)
    const attempts = claimed.map(
      (row) => new PostgresAttempt(row.attempt_id, new PostgresWorkUnit(spec, row.unit_id, new Uint8Array(row.unit_name)), worker),
    )
    const kept = await failOverRetried(store, candidate.meta, attempts, claimed)
    if (kept.length > 0) return kept
  }
  return []
}

function checkRequest(request: AttemptRequest): void {
  const { numberOfWorkUnits: n, lifetimeMs, availableGb } = request
  if (n !== undefined && (typeof n !== 'number' || !Number.isFinite(n))) throw new InvalidInputError('numberOfWorkUnits must be a number')
  if (lifetimeMs !== undefined && (typeof lifetimeMs !== 'number' || !Number.isFinite(lifetimeMs) || lifetimeMs < 0)) {
    throw new InvalidInputError('lifetimeMs must be a non-negative number')
  }
  if (availableGb !== undefined && (typeof availableGb !== 'number' || Number.isNaN(availableGb))) {
    throw new InvalidInputError('availableGb must be a number')
  }
}

interface InputRow {
  id: string
  name: string
  has_available: boolean
  has_expired: boolean
  pending_count: number
}

// Availability is an EXISTS probe on the claim index and pending a count of pending attempts
// (bounded by the number of leases out), so the cost does not grow with the number of units.
async function schedulerInputs(store: Store, namespaceId: string, request: AttemptRequest, now: Date): Promise<Candidate[]> {
  const names = request.workSpecs && request.workSpecs.length > 0 ? sql`AND s.name = ANY(${[...request.workSpecs]}::text[])` : sql``
  const rows = await store.rows(sql<InputRow & Parameters<typeof metaFromRow>[0]>`
    SELECT s.id::text, s.name, ${META_COLUMNS},
      EXISTS (SELECT 1 FROM work_unit u WHERE u.work_spec_id = s.id AND u.state = 'available'
              AND (u.not_before IS NULL OR u.not_before <= ${now})) AS has_available,
      EXISTS (SELECT 1 FROM attempt a WHERE a.work_spec_id = s.id AND a.status = 'pending'
              AND a.expiration_time < ${now}) AS has_expired,
      -- Pending counts matter only for max_running and for weighing specs against each other;
      -- a lone spec without a cap skips the count (CASE evaluates the subquery lazily).
      CASE WHEN s.max_running > 0 OR count(*) OVER () > 1 THEN
        (SELECT count(*)::integer FROM attempt a WHERE a.work_spec_id = s.id AND a.status = 'pending'
                AND a.expiration_time >= ${now})
      ELSE 0 END AS pending_count
    FROM work_spec s WHERE s.namespace_id = ${namespaceId} ${names}`)
  return rows.map((row) => {
    const meta: WorkSpecMeta = metaFromRow(row)
    meta.availableCount = row.has_available || row.has_expired ? 1 : 0
    meta.pendingCount = row.pending_count
    return { id: row.id, name: row.name, meta, hasExpired: row.has_expired }
  })
}

// The guard on next_continuous makes one of several racing workers create the unit.
async function addContinuousUnit(store: Store, candidate: Candidate, now: Date): Promise<void> {
  const next = new Date(now.getTime() + candidate.meta.intervalMs)
  await store.rows(sql`
    WITH due AS (
      UPDATE work_spec SET next_continuous = ${next}, version = nextval('version_seq')
      WHERE id = ${candidate.id} AND continuous AND (next_continuous IS NULL OR next_continuous <= ${now})
      RETURNING id
    )
    INSERT INTO work_unit (work_spec_id, name, data)
    SELECT id, ${Buffer.from(continuousUnitName(now))}, ${Buffer.from(encodeData({}))} FROM due
    ON CONFLICT (work_spec_id, name) DO NOTHING`)
}

interface ClaimRow {
  unit_id: string
  unit_name: Uint8Array
  attempt_id: string
  num_attempts: number
}

function claimUnits(store: Store, candidate: Candidate, workerId: string, count: number, now: Date, expiration: Date): Promise<ClaimRow[]> {
  const { maxRunning, maxRetries } = candidate.meta
  const claim = (executor: Executor, limit: ReturnType<typeof sql>) =>
    store.rows(
      sql<ClaimRow>`
        WITH picked AS (
          SELECT u.id FROM work_unit u
          WHERE u.work_spec_id = ${candidate.id} AND u.state = 'available'
            AND (u.not_before IS NULL OR u.not_before <= ${now})
          ORDER BY u.priority DESC, u.name
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED
        ), made AS (
          INSERT INTO attempt (work_unit_id, work_spec_id, worker_id, start_time, expiration_time)
          SELECT id, ${candidate.id}, ${workerId}, ${now}, ${expiration} FROM picked
          RETURNING id, work_unit_id
        ), claimed AS (
          UPDATE work_unit u SET state = 'pending', active_attempt_id = made.id, lease_expires = ${expiration},
            version = nextval('version_seq')
          FROM made WHERE u.id = made.work_unit_id
          RETURNING u.id, u.name, u.priority, made.id AS attempt_id
        )
        SELECT c.id::text AS unit_id, c.name AS unit_name, c.attempt_id::text AS attempt_id,
          ${maxRetries > 0 ? sql`(SELECT count(*)::integer FROM attempt a WHERE a.work_unit_id = c.id) + 1` : sql`1`} AS num_attempts
        FROM claimed c ORDER BY c.priority DESC, c.name`,
      executor,
    )
  if (maxRunning <= 0) return claim(store.db, sql`${count}`)
  // Lock the spec row (NO KEY UPDATE does not block the key-share locks of unit inserts), then
  // count pending attempts in a fresh snapshot: the cap holds however many claimers race.
  return store.transaction(async (trx) => {
    await store.rows(sql`SELECT id FROM work_spec WHERE id = ${candidate.id} FOR NO KEY UPDATE`, trx)
    return claim(
      trx,
      sql`LEAST(${count}, GREATEST(0, ${maxRunning} - (SELECT count(*) FROM attempt WHERE work_spec_id = ${candidate.id}
        AND status = 'pending' AND expiration_time >= ${now})))`,
    )
  })
}

// A unit past max_retries attempts fails at once with "too many retries" and is not handed out.
async function failOverRetried(store: Store, meta: WorkSpecMeta, attempts: PostgresAttempt[], rows: ClaimRow[]): Promise<PostgresAttempt[]> {
  if (meta.maxRetries <= 0) return attempts
  const over = attempts.filter((_, i) => (rows[i]?.num_attempts ?? 0) > meta.maxRetries)
  if (over.length === 0) return attempts
  await completeAttempts(
    store,
    over.map((attempt) => ({ attempt, status: 'failed' as const, data: { traceback: 'too many retries' } })),
  )
  return attempts.filter((a) => !over.includes(a))
}

