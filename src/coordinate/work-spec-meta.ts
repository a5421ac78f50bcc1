import { type DataDict, type DataValue, assertDataDict, describe, lenientText } from './data.js'
import { BadWorkSpecNameError, InvalidInputError, NoWorkSpecNameError } from './errors.js'
import { SECOND } from './clock.js'

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
  return name
}

/** Validates a work spec dict and derives its name and meta (keys matched case-insensitively). */
export function parseWorkSpecData(data: unknown): { name: string; meta: WorkSpecMeta } {
  const name = workSpecNameOf(data)
  assertDataDict(data, 'work spec')
  const get = caseInsensitive(data)
  const meta = defaultWorkSpecMeta()
  meta.priority = intField(get('priority'), 'priority', 0)
  const nice = intField(get('nice'), 'nice', 0)
  let weight = intField(get('weight'), 'weight', 0)
  if (weight === 0) weight = 20 - nice
  meta.weight = weight <= 0 ? 1 : weight
  meta.paused = boolField(get('disabled'), 'disabled')
  meta.continuous = meta.canBeContinuous = boolField(get('continuous'), 'continuous')
  meta.intervalMs = Math.round(numberField(get('interval'), 'interval', 0) * SECOND)
  meta.minMemoryGb = numberField(get('min_gb'), 'min_gb', 0)
  meta.maxRunning = intField(get('max_running'), 'max_running', 0)
  meta.maxAttemptsReturned = intField(get('max_getwork'), 'max_getwork', 0)
  meta.maxRetries = intField(get('max_retries'), 'max_retries', 0)
  meta.nextWorkSpecName = stringField(get('then'), 'then')
  meta.runtime = stringField(get('runtime'), 'runtime')
  if (meta.intervalMs < 0) throw new InvalidInputError('work spec interval must not be negative')
  return { name, meta }
}

function caseInsensitive(dict: DataDict): (key: string) => DataValue | undefined {
  const lower = new Map<string, DataValue>()
  for (const [k, v] of Object.entries(dict)) {
    const key = k.toLowerCase()
    if (k === key || !lower.has(key)) lower.set(key, v)
  }
  return (key) => lower.get(key)
}

function numberField(value: DataValue | undefined, key: string, fallback: number): number {
  if (value === undefined || value === null) return fallback
  if (typeof value === 'number') return value
  if (typeof value === 'bigint') return Number(value)
  throw new InvalidInputError(`work spec ${key} must be a number, not ${describe(value)}`)
}

// go-coordinate truncates JSON floats to ints for the integer settings; so do we.
function intField(value: DataValue | undefined, key: string, fallback: number): number {
  return Math.trunc(numberField(value, key, fallback))
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
