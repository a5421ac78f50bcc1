import type { Attempt, Namespace, SummaryRecord, WorkSpec, WorkUnit, Worker } from '../coordinate/api.js'
import type { Clock } from '../coordinate/clock.js'
import { workUnitKeyName } from '../coordinate/data.js'
import type { WorkSpecMeta } from '../coordinate/work-spec-meta.js'
import { type WorkUnitSnapshot, snapshotData, snapshotStatus } from '../coordinate/work-unit-snapshot.js'
import { dataToJson } from './data-json.js'
import { encodeName } from './names.js'
import { urls } from './urls.js'

// Builders of the JSON bodies the server sends (docs/http.md names every field).

/** A time as RFC 3339 in UTC with milliseconds, or null. */
export function timeJson(time: Date | null): string | null {
  return time === null ? null : time.toISOString()
}

/** Summary records with snake_case fields. */
export function summaryJson(records: readonly SummaryRecord[]): unknown[] {
  return records.map((r) => ({ namespace: r.namespace, work_spec: r.workSpec, status: r.status, count: r.count }))
}

/** The Namespace representation: its name and the URLs of what is under it. */
export function namespaceJson(ns: Namespace): Record<string, unknown> {
  const url = urls.namespace(ns.name)
  return {
    url,
    name: ns.name,
    summary_url: `${url}/summary`,
    work_specs_url: urls.workSpecs(ns.name),
    work_spec_url: `${urls.workSpecs(ns.name)}/{work_spec}`,
    workers_url: urls.workers(ns.name),
    worker_url: `${urls.workers(ns.name)}/{worker}`,
    complete_attempts_url: `${url}/complete_attempts`,
  }
}

/** The WorkSpec representation: its definition and the URLs of its parts. */
export async function workSpecJson(spec: WorkSpec): Promise<Record<string, unknown>> {
  const url = urls.workSpec(spec.namespace.name, spec.name)
  return {
    url,
    name: spec.name,
    data: dataToJson(await spec.data()),
    summary_url: `${url}/summary`,
    meta_url: `${url}/meta`,
    counts_url: `${url}/counts`,
    snapshot_url: `${url}/snapshot`,
    work_units_url: `${url}/work_unit`,
    work_unit_url: `${url}/work_unit/{work_unit}`,
    change_url: `${url}/change`,
    adjust_url: `${url}/adjust`,
  }
}

/** WorkSpecMeta with snake_case fields and RFC 3339 times. */
export function workSpecMetaJson(meta: WorkSpecMeta): Record<string, unknown> {
  return {
    priority: meta.priority,
    weight: meta.weight,
    paused: meta.paused,
    continuous: meta.continuous,
    can_be_continuous: meta.canBeContinuous,
    min_memory_gb: meta.minMemoryGb,
    interval_ms: meta.intervalMs,
    next_continuous: timeJson(meta.nextContinuous),
    max_running: meta.maxRunning,
    max_attempts_returned: meta.maxAttemptsReturned,
    max_retries: meta.maxRetries,
    next_work_spec_name: meta.nextWorkSpecName,
    runtime: meta.runtime,
    available_count: meta.availableCount,
    pending_count: meta.pendingCount,
  }
}

/** A unit in a list: identity, status and scheduling fields, no data. */
export function workUnitShortJson(spec: WorkSpec, snapshot: WorkUnitSnapshot, clock: Clock): Record<string, unknown> {
  return {
    url: urls.workUnit(spec.namespace.name, spec.name, snapshot.key),
    name: workUnitKeyName(snapshot.key),
    key: encodeName(snapshot.key),
    status: snapshotStatus(snapshot, clock.now()),
    priority: snapshot.priority,
    not_before: timeJson(snapshot.notBefore),
  }
}

/** The WorkUnit representation: effective data, meta, status and links. */
export async function workUnitJson(unit: WorkUnit, clock: Clock): Promise<Record<string, unknown>> {
  const spec = unit.workSpec
  const snapshot = await unit.snapshot()
  // A unit stored as available has no active attempt (the store clears it with every write
  // that makes a unit available), so only the others cost the attempt lookup.
  const active = snapshot.state === 'available' ? null : await unit.activeAttempt()
  const now = clock.now()
  const url = urls.workUnit(spec.namespace.name, spec.name, unit.key)
  return {
    url,
    name: unit.name,
    key: encodeName(unit.key),
    work_spec: spec.name,
    work_spec_url: urls.workSpec(spec.namespace.name, spec.name),
    data: dataToJson(snapshotData(snapshot, now)),
    meta: { priority: snapshot.priority, not_before: timeJson(snapshot.notBefore) },
    status: snapshotStatus(snapshot, now),
    active_attempt_url: active === null ? null : attemptUrl(active),
    attempts_url: `${url}/attempts`,
    num_attempts_url: `${url}/num-attempts`,
    snapshot_url: `${url}/snapshot`,
  }
}

/** A WorkUnitSnapshot with snake_case fields and encoded data. */
export function workUnitSnapshotJson(snapshot: WorkUnitSnapshot): Record<string, unknown> {
  return {
    key: encodeName(snapshot.key),
    version: snapshot.version,
    state: snapshot.state,
    lease_expires: timeJson(snapshot.leaseExpires),
    not_before: timeJson(snapshot.notBefore),
    priority: snapshot.priority,
    unit_data: dataToJson(snapshot.unitData),
    attempt_data: snapshot.attemptData === null ? null : dataToJson(snapshot.attemptData),
  }
}

/** The URL of an attempt. */
export function attemptUrl(attempt: Attempt): string {
  const unit = attempt.workUnit
  return urls.attempt(unit.workSpec.namespace.name, unit.workSpec.name, unit.key, attempt.id)
}

/** An attempt's identity and links, without reading its row (what request_attempts answers). */
export function attemptShortJson(attempt: Attempt): Record<string, unknown> {
  const unit = attempt.workUnit
  const ns = unit.workSpec.namespace.name
  const url = attemptUrl(attempt)
  return {
    url,
    id: attempt.id,
    work_spec: unit.workSpec.name,
    work_unit: encodeName(unit.key),
    work_unit_name: unit.name,
    worker: attempt.worker.name,
    work_unit_url: urls.workUnit(ns, unit.workSpec.name, unit.key),
    worker_url: urls.worker(ns, attempt.worker.name),
    renew_url: `${url}/renew`,
    expire_url: `${url}/expire`,
    finish_url: `${url}/finish`,
    fail_url: `${url}/fail`,
    retry_url: `${url}/retry`,
  }
}

/**
 * What request_attempts answers for one attempt: its identity and links, and `data`, the unit's
 * data as the claim read it, when the backend brought it along (a worker then starts without
 * reading the unit). Taken from the attempt, which the resolver goes on keeping.
 */
export function claimedAttemptJson(attempt: Attempt): Record<string, unknown> {
  const data = attempt.takeClaimData()
  const json = attemptShortJson(attempt)
  if (data !== undefined) json.data = dataToJson(data)
  return json
}

/** The full Attempt representation: identity, links, status, data and times. */
export async function attemptJson(attempt: Attempt): Promise<Record<string, unknown>> {
  const [status, data, start, end, expiration] = await Promise.all([
    attempt.status(),
    attempt.data(),
    attempt.startTime(),
    attempt.endTime(),
    attempt.expirationTime(),
  ])
  return {
    ...attemptShortJson(attempt),
    status,
    data: dataToJson(data),
    start_time: timeJson(start),
    end_time: timeJson(end),
    expiration_time: timeJson(expiration),
  }
}

/** A worker in a list. */
export async function workerShortJson(worker: Worker): Promise<Record<string, unknown>> {
  const [parent, active, mode, lastUpdate, expiration] = await Promise.all([
    worker.parent(),
    worker.active(),
    worker.mode(),
    worker.lastUpdate(),
    worker.expiration(),
  ])
  return {
    name: worker.name,
    url: urls.worker(worker.namespace.name, worker.name),
    active,
    mode,
    parent: parent?.name ?? null,
    last_update: timeJson(lastUpdate),
    expiration: timeJson(expiration),
  }
}

/** The full Worker representation. */
export async function workerJson(worker: Worker): Promise<Record<string, unknown>> {
  const ns = worker.namespace.name
  const url = urls.worker(ns, worker.name)
  const [short, children, data] = await Promise.all([workerShortJson(worker), worker.children(), worker.data()])
  const parent = short.parent as string | null
  return {
    ...short,
    parent_url: parent === null ? null : urls.worker(ns, parent),
    children: children.map((c) => c.name),
    child_urls: children.map((c) => urls.worker(ns, c.name)),
    data: dataToJson(data),
    request_attempts_url: `${url}/request_attempts`,
    make_attempt_url: `${url}/make_attempt`,
    active_attempts_url: `${url}/active_attempts`,
    all_attempts_url: `${url}/all_attempts`,
    child_attempts_url: `${url}/child_attempts`,
  }
}
