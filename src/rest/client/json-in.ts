import type { SummaryRecord } from '../../coordinate/api.js'
import type { WorkUnitStatus } from '../../coordinate/status.js'
import { type WorkSpecMeta, defaultWorkSpecMeta } from '../../coordinate/work-spec-meta.js'
import type { WorkUnitSnapshot } from '../../coordinate/work-unit-snapshot.js'
import { dataFromJson } from '../data-json.js'
import { decodeKey } from '../names.js'
import { timeField, workSpecMetaOf } from '../request-input.js'

// Readers of the server's JSON answers, for the client. Answers come from our own server, so
// a shape error here is a bug or a version mismatch; the field readers still name the field.

/** A JSON answer as an object. */
export function obj(value: unknown): Record<string, unknown> {
  return (value ?? {}) as Record<string, unknown>
}

/** An RFC 3339 time from an answer. */
export function time(value: unknown, field: string): Date | null {
  return timeField(value, field) ?? null
}

/** A time that is never null. */
export function requiredTime(value: unknown, field: string): Date {
  return time(value, field) ?? new Date(0)
}

/** A WorkSpecMeta from its JSON form. */
export function metaFromJson(value: unknown): WorkSpecMeta {
  return { ...defaultWorkSpecMeta(), ...workSpecMetaOf(obj(value)) }
}

/** A WorkUnitSnapshot from its JSON form. */
export function snapshotFromJson(value: unknown): WorkUnitSnapshot {
  const s = obj(value)
  return {
    key: decodeKey(String(s.key), 'key'),
    version: Number(s.version),
    state: s.state as WorkUnitSnapshot['state'],
    leaseExpires: time(s.lease_expires, 'lease_expires'),
    notBefore: time(s.not_before, 'not_before'),
    priority: Number(s.priority),
    unitData: dataFromJson(s.unit_data, 'unit_data'),
    attemptData: s.attempt_data === null ? null : dataFromJson(s.attempt_data, 'attempt_data'),
  }
}

/** Summary records from their JSON form. */
export function summaryFromJson(value: unknown): SummaryRecord[] {
  return (value as Record<string, unknown>[]).map((r) => ({
    namespace: String(r.namespace),
    workSpec: String(r.work_spec),
    status: r.status as WorkUnitStatus,
    count: Number(r.count),
  }))
}
