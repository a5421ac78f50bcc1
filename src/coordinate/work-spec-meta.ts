import { type DataDict, type DataValue, assertDataDict, describe, lenientText } from './data.js'
import { BadWorkSpecNameError, InvalidInputError, NoWorkSpecNameError } from './errors.js'
import { SECOND } from './clock.js'
import {
  validateCap,
  validateDelayMs,
  validateFiniteNumber,
  validateInt32,
  validateMemoryGb,
  validateName,
  validateText,
  validateWeight,
} from './validation.js'

/** The control settings of a work spec, derived from its dict and adjustable through setMeta. */
export interface WorkSpecMeta {
  /** Absolute priority: work in a higher-priority spec always goes first. Dict key `priority`, default 0. */
  priority: number
  /** Relative share among specs of equal priority. Dict `weight`, else `20 - nice`, at least 1; default 20. */
  weight: number
  /** A paused spec hands out no work. Dict key `disabled`. */
  paused: boolean
  /** Whether the spec makes synthetic units when it runs dry (only if `canBeContinuous`). */
  continuous: boolean
  /** Whether the dict declared `continuous`; setMeta cannot change it. */
  canBeContinuous: boolean
  /** Workers must offer at least this much memory (`min_gb`). */
  minMemoryGb: number
  /** Least gap between two continuous units, in milliseconds (dict `interval`, in seconds). */
  intervalMs: number
  /** Earliest time of the next continuous unit; null means now. */
  nextContinuous: Date | null
  /** Cap on units of this spec pending at once; 0 = no cap (`max_running`). */
  maxRunning: number
  /** Cap on units handed out per request; 0 = no cap (`max_getwork`). */
  maxAttemptsReturned: number
  /** Cap on attempts per unit; the unit fails with "too many retries" beyond it; 0 = no cap. */
  maxRetries: number
  /** The spec that receives this spec's `output` units (`then`); "" = none. setMeta cannot change it. */
  nextWorkSpecName: string
  /** Workers must ask for this runtime; "" is the Python default. setMeta cannot change it. */
  runtime: string
  /** Units available now (filled only by meta({ withCounts: true })). */
  availableCount: number
  /** Units pending now (filled only by meta({ withCounts: true })). */
  pendingCount: number
}

/**
 * What setMeta takes: any subset of the meta. Only priority, weight, paused, continuous (and only
 * when canBeContinuous), minMemoryGb, intervalMs, nextContinuous, maxRunning, maxAttemptsReturned
 * and maxRetries are applied; the rest is ignored, as in go-coordinate.
 */
export type WorkSpecMetaUpdate = Partial<WorkSpecMeta>

/** The meta of a spec whose dict sets nothing. */
export function defaultWorkSpecMeta(): WorkSpecMeta {
  return {
    priority: 0,
    weight: 20,
    paused: false,
    continuous: false,
    canBeContinuous: false,
    minMemoryGb: 0,
    intervalMs: 0,
    nextContinuous: null,
    maxRunning: 0,
    maxAttemptsReturned: 0,
    maxRetries: 0,
    nextWorkSpecName: '',
    runtime: '',
    availableCount: 0,
    pendingCount: 0,
  }
}

/** Reads the work spec name from a dict, with the errors Python and go clients expect. */
export function workSpecNameOf(data: unknown): string {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new InvalidInputError(`a work spec must be a dict, not ${describe(data)}`)
  }
  const name = (data as Record<string, unknown>).name
  if (name === undefined || name === null || name === '') throw new NoWorkSpecNameError()
  if (typeof name !== 'string') throw new BadWorkSpecNameError()
  return validateName(name, 'work spec name')
}

/**
 * Validates a work spec dict and derives its name and meta (keys matched case-insensitively).
 * Coercions kept from the predecessors: integer settings given as floats are truncated; a
 * weight of 0 or none means `20 - nice`, raised to 1 if that is lower. Everything else out of
 * range (a negative weight or cap, a priority beyond 32 bits, NaN) is refused.
 */
export function parseWorkSpecData(data: unknown): { name: string; meta: WorkSpecMeta } {
  const name = workSpecNameOf(data)
  assertDataDict(data, 'work spec')
  const get = caseInsensitive(data)
  const meta = defaultWorkSpecMeta()
  meta.priority = validateInt32(intField(get('priority'), 'priority'), 'work spec priority')
  meta.weight = weightOf(get('weight'), get('nice'))
  meta.paused = boolField(get('disabled'), 'disabled')
  meta.continuous = meta.canBeContinuous = boolField(get('continuous'), 'continuous')
  const interval = validateFiniteNumber(numberField(get('interval'), 'interval'), 'work spec interval')
  if (interval < 0) throw new InvalidInputError('work spec interval must not be negative')
  meta.intervalMs = validateDelayMs(Math.round(interval * SECOND), 'work spec interval in ms')
  meta.minMemoryGb = validateMemoryGb(numberField(get('min_gb'), 'min_gb'), 'work spec min_gb')
  meta.maxRunning = validateCap(intField(get('max_running'), 'max_running'), 'work spec max_running')
  meta.maxAttemptsReturned = validateCap(intField(get('max_getwork'), 'max_getwork'), 'work spec max_getwork')
  meta.maxRetries = validateCap(intField(get('max_retries'), 'max_retries'), 'work spec max_retries')
  meta.nextWorkSpecName = validateName(stringField(get('then'), 'then'), 'work spec then')
  meta.runtime = validateText(stringField(get('runtime'), 'runtime'), 'work spec runtime')
  return { name, meta }
}

// go-coordinate's rule: an explicit weight wins unless it is 0; else 20 - nice, at least 1.
function weightOf(rawWeight: DataValue | undefined, rawNice: DataValue | undefined): number {
  const weight = intField(rawWeight, 'weight')
  if (weight < 0) throw new InvalidInputError(`work spec weight must be at least 1 (or 0 for 20 - nice), not ${weight}`)
  if (weight > 0) return validateWeight(weight, 'work spec weight')
  const nice = validateInt32(intField(rawNice, 'nice'), 'work spec nice')
  return validateWeight(Math.max(1, 20 - nice), 'work spec weight (20 - nice)')
}

function caseInsensitive(dict: DataDict): (key: string) => DataValue | undefined {
  const lower = new Map<string, DataValue>()
  for (const [k, v] of Object.entries(dict)) {
    const key = k.toLowerCase()
    if (k === key || !lower.has(key)) lower.set(key, v)
  }
  return (key) => lower.get(key)
}

function numberField(value: DataValue | undefined, key: string): number {
  if (value === undefined || value === null) return 0
  if (typeof value === 'number') return value
  if (typeof value === 'bigint') return Number(value)
  throw new InvalidInputError(`work spec ${key} must be a number, not ${describe(value)}`)
}

// go-coordinate truncates JSON floats to ints for the integer settings; so do we.
function intField(value: DataValue | undefined, key: string): number {
  const n = numberField(value, key)
  if (!Number.isFinite(n)) throw new InvalidInputError(`work spec ${key} must be a finite number, not ${n}`)
  return Math.trunc(n)
}

function boolField(value: DataValue | undefined, key: string): boolean {
  if (value === undefined || value === null) return false
  if (typeof value === 'boolean') return value
  if (typeof value === 'number') return value !== 0
  throw new InvalidInputError(`work spec ${key} must be a boolean, not ${describe(value)}`)
}

function stringField(value: DataValue | undefined, key: string): string {
  if (value === undefined || value === null) return ''
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) return lenientText(value)
  throw new InvalidInputError(`work spec ${key} must be a string, not ${describe(value)}`)
}
