import type { Attempt, AttemptRequest } from '../coordinate/api.js'
import { encodeData } from '../coordinate/cbor-data.js'
import { DEFAULT_LEASE_MS } from '../coordinate/clock.js'
import { validateAttemptRequest } from '../coordinate/request-validation.js'
import {
  type SchedulerCandidate,
  canStartContinuous,
  chooseWorkSpec,
  continuousUnitName,
  isForcedChoice,
  unitsToClaim,
} from '../coordinate/scheduler.js'
import type { WorkSpecMeta } from '../coordinate/work-spec-meta.js'
import { PostgresAttempt } from './attempt.js'
import { completeAttempts } from './attempt-completion.js'
import { expireLeases } from './lease-expiry.js'
import type { SpecsFingerprint } from './remembered-choices.js'
import type { Store } from './store.js'
import { metaFromRow } from './work-spec-meta-store.js'
import { type ClaimRow, addContinuousUnitSql, schedulerInputsSql } from './sql/claim.js'
import { claimBatched } from './claim-batches.js'
import { decodeDataDict } from '../coordinate/cbor-data.js'
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
 * attempts and mark them pending, all in one call. Specs with max_running lock their own row
 * first so the cap holds exactly across processes. When the last choice for the same request
 * followed from meta alone, the claim goes straight to that spec in one round trip. Claims that
 * many workers make at once share one statement and commit (./claim-batches.ts).
 */
export async function requestAttempts(worker: PostgresWorker, request: AttemptRequest): Promise<Attempt[]> {
  validateAttemptRequest(request)
  const { store } = worker.namespace
  const remembered = store.choices.get(worker.namespace.id, request)
  if (remembered) {
    const attempts = await claimFrom(worker, remembered, request, store.now())
    if (attempts.length > 0) return attempts
    store.choices.set(worker.namespace.id, request, undefined)
  }
  const options = { availableGb: request.availableGb, workSpecs: request.workSpecs, runtimes: request.runtimes }
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const now = store.now()
    const { candidates, fingerprint } = await schedulerInputs(store, worker.namespace.id, request, now)
    const chosen = chooseWorkSpec(candidates, now, options)
    const candidate = candidates.find((c) => c.name === chosen)
    if (!candidate) {
      // Nothing to claim anywhere. A forced choice follows from meta alone, so while the specs
      // are as they were it still holds: keeping it lets the next request (typically the one a
      // notification of new work wakes) claim in one round trip instead of two.
      if (remembered && sameSpecs(remembered.fingerprint, fingerprint)) store.choices.set(worker.namespace.id, request, remembered)
      return []
    }
    if (candidate.hasExpired) await expireLeases(store, candidate.id)
    if (candidate.meta.availableCount === 0 && canStartContinuous(candidate.meta, now)) {
      await addContinuousUnit(store, candidate, now)
    }
    const forced = fingerprint !== undefined && isForcedChoice(candidates, candidate, options)
    store.choices.set(worker.namespace.id, request, forced ? { ...candidate, fingerprint } : undefined)
    const attempts = await claimFrom(worker, candidate, request, now)
    if (attempts.length > 0) return attempts
  }
  return []
}

function sameSpecs(a: SpecsFingerprint, b: SpecsFingerprint | undefined): boolean {
  return b !== undefined && a.count === b.count && a.version === b.version
}

/** Claims from one spec and wraps the rows as attempts, minus units past max_retries. */
async function claimFrom(worker: PostgresWorker, target: ClaimTarget, request: AttemptRequest, now: Date): Promise<PostgresAttempt[]> {
  const { store } = worker.namespace
  const count = unitsToClaim(target.meta, request.numberOfWorkUnits)
  if (count === 0) return []
  const expiration = new Date(now.getTime() + (request.lifetimeMs ?? DEFAULT_LEASE_MS))
  const claimed = await claimUnits(store, target, worker, count, now, expiration)
  if (claimed.length === 0) return []
  const spec = new PostgresWorkSpec(worker.namespace, target.id, target.name)
  const attempts = claimed.map(
    (row) => new PostgresAttempt(row.attempt_id, new PostgresWorkUnit(spec, row.unit_id, new Uint8Array(row.unit_name)), worker, decodeDataDict(row.data)),
  )
  return failOverRetried(store, target.meta, attempts, claimed)
}

interface SchedulerInputs {
  candidates: Candidate[]
  /** The namespace's specs as these inputs saw them; undefined when no spec matched. */
  fingerprint?: SpecsFingerprint
}

async function schedulerInputs(store: Store, namespaceId: string, request: AttemptRequest, now: Date): Promise<SchedulerInputs> {
  const rows = await store.rows(schedulerInputsSql(namespaceId, request.workSpecs, now))
  const candidates = rows.map((row) => {
    const meta: WorkSpecMeta = metaFromRow(row)
    meta.availableCount = row.has_available || row.has_expired ? 1 : 0
    meta.pendingCount = row.pending_count
    return { id: row.id, name: row.name, meta, hasExpired: row.has_expired }
  })
  const first = rows[0]
  return { candidates, fingerprint: first && { count: first.spec_count, version: first.spec_version } }
}

async function addContinuousUnit(store: Store, candidate: Candidate, now: Date): Promise<void> {
  const next = new Date(now.getTime() + candidate.meta.intervalMs)
  await store.rows(addContinuousUnitSql(candidate.id, now, next, Buffer.from(continuousUnitName(now)), Buffer.from(encodeData({}))))
}

/** Where a claim goes, and, when the caller chose the spec from remembered meta, what to check. */
interface ClaimTarget {
  id: string
  name: string
  meta: WorkSpecMeta
  fingerprint?: SpecsFingerprint
}

async function claimUnits(store: Store, target: ClaimTarget, worker: PostgresWorker, count: number, now: Date, expiration: Date): Promise<ClaimRow[]> {
  const { maxRunning, maxRetries } = target.meta
  const check = target.fingerprint
  const { notifications } = store
  const rows = await claimBatched(store, {
    specId: target.id,
    workerId: worker.id,
    count,
    now,
    expiration,
    maxRunning,
    countAttempts: maxRetries > 0,
    namespaceId: worker.namespace.id,
    specCount: check?.count,
    specVersion: check?.version,
  })
  if (rows.length > 0) notifications?.unitsChanged(worker.namespace.name, target.name, rows.map((row) => row.unit_name))
  return rows
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

