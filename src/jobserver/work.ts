import type { Attempt, AttemptRequest, Namespace, VersionGuard, WorkUnit, Worker } from '../coordinate/api.js'
import { type Clock, SECOND } from '../coordinate/clock.js'
import { type DataDict, Tuple, workUnitKeyId, workUnitKeyName } from '../coordinate/data.js'
import { InvalidInputError, LostLeaseError, NotPendingError, VersionConflictError } from '../coordinate/errors.js'
import { MAX_UNITS_PER_REQUEST } from '../coordinate/limits.js'
import { validateAttemptRequest } from '../coordinate/request-validation.js'
import { validateOptionalDataDict } from '../coordinate/validation.js'
import { snapshotData, snapshotStatus } from '../coordinate/work-unit-snapshot.js'
import { findWorkSpec, findWorkUnit, noSuchWorkSpec, noSuchWorkUnit } from './lookups.js'
import { LeasedAttempts } from './leased-attempts.js'
import { WorkBatches } from './work-batches.js'
import { type JobServerContext, type MethodTable, type Pair, type RequestContext, method, ok } from './method.js'
import {
  option,
  readDict,
  readKey,
  readNames,
  readOptionalInteger,
  readOptionalNumber,
  readOptionalText,
  readOptions,
  readText,
} from './params.js'
import { AVAILABLE, BLOCKED, FAILED, FINISHED, PENDING, readStatusCode } from './status-codes.js'

/** get_work's lease when the client names none: the Python client's `default_lifetime`. */
export const DEFAULT_GET_WORK_LEASE_SECONDS = 900
/** update_work_unit's lease when the client names none or less than a second (as go-coordinate). */
export const DEFAULT_UPDATE_LEASE_SECONDS = 300
/** The longest lease either call grants: Python's MAX_LEASE_SECONDS, one day. */
export const MAX_LEASE_SECONDS = 24 * 3600

/** Work methods: get_work and update_work_unit. */
export function workMethods({ namespace, clock }: JobServerContext): MethodTable {
  const leased = new LeasedAttempts()
  const batches = new WorkBatches(namespace)
  return {
    // One unit comes back as a (spec, key bytes, data) tuple or (None, None, None); a batch as a
    // list of such tuples. The shape follows the Python client's own test: a single tuple when
    // max_jobs is absent or 1, a list for any other value (it iterates whatever comes back).
    get_work: method(2, async ([rawWorkerId, rawOptions]): Promise<Pair<Tuple | Tuple[]>> => {
      const workerId = readText(rawWorkerId, 'worker_id')
      const options = readOptions(rawOptions, 'get_work options')
      const leaseSeconds = readOptionalNumber(option(options, 'lease_time'), 'lease_time')
      const availableGb = readOptionalNumber(option(options, 'available_gb'), 'available_gb')
      const maxJobs = readOptionalInteger(option(options, 'max_jobs'), 'max_jobs')
      const rawNames = option(options, 'work_spec_names')
      const request: AttemptRequest = {
        // Python asks for at least one unit and the batch is capped; fewer units is a valid answer.
        numberOfWorkUnits: Math.min(MAX_UNITS_PER_REQUEST, Math.max(1, maxJobs ?? 1)),
        lifetimeMs: leaseMs(leaseSeconds, DEFAULT_GET_WORK_LEASE_SECONDS),
        // Python specs have no runtime; workers of other runtimes must not get their work.
        runtimes: [''],
      }
      if (availableGb !== undefined) request.availableGb = availableGb
      if (rawNames !== undefined) request.workSpecs = readNames(rawNames, 'work_spec_names')
      // Before the worker is created: a refused request must leave no worker behind.
      validateAttemptRequest(request)

      const worker = await namespace.worker(workerId)
      const attempts = await worker.requestAttempts(request)
      const tuples = await workTuples(attempts, clock.now())
      if (attempts[0]) leased.remember(attempts[0].workUnit.workSpec.name, attempts)
      if (maxJobs === undefined || maxJobs === 1) return ok(tuples[0] ?? Tuple.of(null, null, null))
      return ok(tuples)
    }),

    update_work_unit: method(3, async ([rawName, rawKey, rawOptions], request): Promise<Pair<boolean>> => {
      const name = readText(rawName, 'work_spec name')
      const key = readKey(rawKey, 'work unit key')
      const options = readOptions(rawOptions, 'update_work_unit options')
      const rawStatus = option(options, 'status')
      const status = rawStatus === undefined ? 0 : readStatusCode(rawStatus, 'status')
      if (status === BLOCKED) throw new InvalidInputError('work unit status 2 (BLOCKED) is not supported')
      if (![0, AVAILABLE, PENDING, FINISHED, FAILED].includes(status)) throw new InvalidInputError(`invalid work unit status ${status}`)
      const rawData = option(options, 'data')
      const update: UnitUpdate = {
        status,
        data: rawData === undefined ? undefined : readDict(rawData, 'data'),
        leaseMs: leaseMs(readOptionalNumber(option(options, 'lease_time'), 'lease_time'), DEFAULT_UPDATE_LEASE_SECONDS),
        workerId: readOptionalText(option(options, 'worker_id'), 'worker_id'),
      }
      // Before any attempt is forced: refused data must leave no worker or attempt behind.
      validateOptionalDataDict(update.data)

      // The usual case: the worker that got the unit from get_work reports on it (the Python
      // client names no worker; a client that does must name the one holding the lease).
      const transition = (attempt: Attempt) => leasedTransition(attempt, update, batches)
      if (await leased.apply(name, key, update.workerId, transition, status === 0 || status === PENDING)) {
        return ok(true)
      }
      const spec = await findWorkSpec(namespace, name)
      if (!spec) return [false, noSuchWorkSpec(name)]
      const unit = await findWorkUnit(spec, key)
      // In-band, as Python answers it: its client's retry loops log and go on.
      if (!unit) return [false, noSuchWorkUnit(workUnitKeyName(key))]
      leased.forget(name, key)
      return ok(await updateWorkUnitSettled(namespace, unit, update, request, clock))
    }),
  }
}

/**
 * get_work's (spec, key, data) tuples. The data comes with the claim where the backend brings it
 * along (Postgres, and the cache over it: Attempt.takeClaimData), taken so that the attempts
 * LeasedAttempts keeps do not hold it; over a backend that does not, all attempts of one request
 * share a spec, so their data comes from one snapshot query.
 */
async function workTuples(attempts: readonly Attempt[], now: Date): Promise<Tuple[]> {
  const first = attempts[0]
  if (first === undefined) return []
  const spec = first.workUnit.workSpec
  const claimed = attempts.map((attempt) => attempt.takeClaimData())
  const unread = attempts.filter((_, i) => claimed[i] === undefined)
  const snapshots = unread.length === 0 ? [] : await spec.workUnitSnapshots(unread.map((attempt) => attempt.workUnit.key))
  const byKey = new Map(snapshots.map((snapshot) => [workUnitKeyId(snapshot.key), snapshot]))
  return Promise.all(
    attempts.map(async (attempt, i) => {
      const snapshot = byKey.get(workUnitKeyId(attempt.workUnit.key))
      const data = claimed[i] ?? (snapshot ? snapshotData(snapshot, now) : await attempt.data())
      return Tuple.of(spec.name, attempt.workUnit.key, data)
    }),
  )
}

/**
 * update_work_unit's transition of a pending unit, applied to its attempt. Finishing and
 * failing go through `batches` when given, sharing one statement with other connections'.
 */
function leasedTransition(attempt: Attempt, { status, data, leaseMs }: UnitUpdate, batches?: WorkBatches): Promise<void> {
  if (status === 0 || status === PENDING) return attempt.renew(leaseMs, data)
  if (status === AVAILABLE) return attempt.expire(data)
  if (status === FINISHED) return batches ? batches.complete(attempt, 'finished', data) : attempt.finish(data)
  return batches ? batches.complete(attempt, 'failed', data) : attempt.fail(data)
}

/** update_work_unit's options, checked. */
interface UnitUpdate {
  /** 0 = keep the status. */
  status: number
  data: DataDict | undefined
  leaseMs: number
  workerId: string | undefined
}

// How often update_work_unit decides again when another writer moved the unit between its read
// and its write (a lease that ran out and was claimed, a finish from another connection).
const UPDATE_TRIES = 5

/** updateWorkUnit, decided again from a fresh read when the unit changed under it. */
async function updateWorkUnitSettled(namespace: Namespace, unit: WorkUnit, update: UnitUpdate, request: RequestContext, clock: Clock): Promise<boolean> {
  for (let tries = 1; ; tries++) {
    try {
      return await updateWorkUnit(namespace, unit, update, request, clock.now())
    } catch (error) {
      const changedUnderUs = error instanceof VersionConflictError || error instanceof NotPendingError || error instanceof LostLeaseError
      if (!changedUnderUs || tries >= UPDATE_TRIES) throw error
    }
  }
}

/**
 * Applies go-coordinate's update_work_unit table and returns whether anything
 * changed. The current state is the active attempt's; an expired or retryable one counts as no
 * attempt, i.e. an available unit. An attempt it forces is guarded by the version read with the
 * state, so it is never made on a unit that moved on meanwhile (claimed by another worker, or
 * finished: the late finish would be told it landed too).
 */
async function updateWorkUnit(namespace: Namespace, unit: WorkUnit, update: UnitUpdate, request: RequestContext, now: Date): Promise<boolean> {
  const { status, data } = update
  // The unit's status (the active attempt's; expired and retryable read as available) and the
  // version that guards a forced attempt come from one row; through the cache, from the
  // snapshot the lookup just made.
  const snapshot = await unit.snapshot()
  const guard = { ifVersion: snapshot.version }
  const unitStatus = snapshotStatus(snapshot, now)
  let current: 'pending' | 'finished' | 'failed' | null =
    unitStatus === 'pending' || unitStatus === 'finished' || unitStatus === 'failed' ? unitStatus : null
  let attempt = current === null ? null : await unit.activeAttempt()
  if (attempt === null) current = null

  if (current === null) {
    if (status === 0 || status === AVAILABLE) {
      if (data === undefined) return false
      // Data for a unit nobody is working on replaces the unit's own, keeping its priority and delay.
      await unit.workSpec.addWorkUnit(unit.key, data, await unit.meta())
      return true
    }
    // Jumping an available unit to pending, finished or failed needs an attempt to carry it.
    attempt = await forcedAttempt(namespace, unit, update, request, guard)
    current = 'pending'
  }

  switch (current) {
    case 'pending':
      if (!attempt) return false
      await leasedTransition(attempt, update)
      return true
    case 'finished':
      if (status === AVAILABLE) {
        await unit.clearActiveAttempt()
        return true
      }
      if (status === PENDING) throw new InvalidInputError('update_work_unit cannot make a finished work unit pending')
      // Including "succeed then fail": the parent's kill arriving after the child's finish loses.
      return false
    case 'failed': {
      if (status === AVAILABLE) {
        await unit.clearActiveAttempt()
        return true
      }
      if (status === PENDING) throw new InvalidInputError('update_work_unit cannot make a failed work unit pending')
      if (status !== FINISHED) return false
      // "Fail then succeed": the child finished after its parent gave up on it, and the finish
      // wins. Attempts refuse to finish once failed, so a new attempt carries the result, with the
      // failed attempt's data unless the client sent new data.
      const failedData = data ?? (attempt ? await attempt.data() : undefined)
      const revived = await forcedAttempt(namespace, unit, update, request, guard)
      await revived.finish(failedData)
      return true
    }
  }
}

/**
 * Starts an attempt on a unit outside the scheduler. It belongs to `worker_id` if the client sent
 * one; the Python client never does, so otherwise to a worker named after the connection
 * ("jobserver-connection-<n>"), which is left inactive so that it does not show as a live worker.
 */
async function forcedAttempt(namespace: Namespace, unit: WorkUnit, update: UnitUpdate, request: RequestContext, guard: VersionGuard): Promise<Attempt> {
  let worker: Worker
  if (update.workerId !== undefined) {
    worker = await namespace.worker(update.workerId)
  } else {
    worker = await namespace.worker(connectionWorkerName(request))
    await worker.deactivate()
  }
  return worker.makeAttempt(unit, update.leaseMs, guard)
}

/** The name of the worker that owns attempts forced on behalf of a connection. */
export function connectionWorkerName(request: RequestContext): string {
  return `jobserver-connection-${request.connectionId}`
}

/** A lease length in ms from seconds: the default when unset or under a second, capped at a day. */
export function leaseMs(seconds: number | undefined, defaultSeconds: number): number {
  const s = seconds === undefined || seconds < 1 ? defaultSeconds : Math.min(seconds, MAX_LEASE_SECONDS)
  return Math.round(s * SECOND)
}
