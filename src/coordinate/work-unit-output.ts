import {
  type DataDict,
  type DataValue,
  Tuple,
  describe,
  isDataDict,
  workUnitKeyBytes,
  workUnitKeyId,
  workUnitKeyName,
} from './data.js'
import { InvalidInputError } from './errors.js'
import { SECOND } from './clock.js'

/** A unit to add to a spec, parsed from an attempt's `output` or from a Python add_work_units item. */
export interface OutputUnit {
  key: Uint8Array
  data: DataDict
  priority: number
  notBefore: Date | null
}

/** The units an attempt's `output` asks to add to the `then` spec; anything unusable yields none. */
export function parseWorkUnitOutput(output: DataValue | undefined, now: Date): OutputUnit[] {
  const mapped = parseKeyedForm(output)
  if (mapped !== null) return mapped
  const items = output instanceof Tuple ? output.items : Array.isArray(output) ? output : null
  if (items === null) return []
  // Keyed by the key's bytes so a later item for the same key replaces the earlier one in place.
  const units = new Map<string, OutputUnit>()
  for (const item of items) {
    const unit = parseOutputItem(item, now)
    if (unit !== null) units.set(workUnitKeyId(unit.key), unit)
  }
  return [...units.values()]
}

/** Parses one output item, or returns null when it is malformed (output chaining skips those). */
export function parseOutputItem(item: DataValue | undefined, now: Date): OutputUnit | null {
  try {
    return parseOutputItemStrict(item, now)
  } catch (error) {
    if (error instanceof InvalidInputError) return null
    throw error
  }
}

/** Parses one output item: a key, or `[key, data, meta?, priority?]`; throws InvalidInputError if malformed. */
export function parseOutputItemStrict(item: DataValue | undefined, now: Date): OutputUnit {
  if (typeof item === 'string' || item instanceof Uint8Array) {
    return { key: workUnitKeyBytes(item), data: {}, priority: 0, notBefore: null }
  }
  const parts = item instanceof Tuple ? item.items : Array.isArray(item) ? item : null
  if (parts === null) {
    throw new InvalidInputError(
      `a work unit item must be a key or a [key, data, meta?, priority?] list, not ${describe(item)}`,
    )
  }
  if (parts.length < 2) {
    throw new InvalidInputError(`a work unit item list needs at least a key and data, but has ${parts.length} item(s)`)
  }
  const [rawKey, rawData, rawMeta, rawPriority] = parts
  if (typeof rawKey !== 'string' && !(rawKey instanceof Uint8Array)) {
    throw new InvalidInputError(`a work unit key must be a string or bytes, not ${describe(rawKey)}`)
  }
  const key = workUnitKeyBytes(rawKey)
  const label = `work unit ${JSON.stringify(workUnitKeyName(key))}`

  let data: DataDict = {}
  if (rawData !== null && rawData !== undefined) {
    const dict = asDict(rawData)
    if (dict === null) throw new InvalidInputError(`${label}: data must be a dict, not ${describe(rawData)}`)
    data = dict
  }

  let priority = 0
  let notBefore: Date | null = null
  if (rawMeta !== null && rawMeta !== undefined) {
    const meta = asDict(rawMeta)
    if (meta === null) throw new InvalidInputError(`${label}: meta must be a dict, not ${describe(rawMeta)}`)
    if (meta.priority !== undefined && meta.priority !== null) {
      priority = finiteNumber(meta.priority, `${label}: meta priority`)
    }
    if (meta.delay !== undefined && meta.delay !== null) {
      const delay = finiteNumber(meta.delay, `${label}: meta delay`)
      if (delay > 0) notBefore = new Date(now.getTime() + delay * SECOND)
    }
  }

  // go-coordinate accepted only a float here and dropped the item for an integer, but a JS
  // number cannot tell 20 from 20.0 once decoded, so any finite number is taken.
  if (rawPriority !== null && rawPriority !== undefined) {
    priority = finiteNumber(rawPriority, `${label}: priority`)
  }

  return { key, data, priority, notBefore }
}

// Units are keyed by bytes, so a Map keyed by text or bytes names them as well as a dict does.
function parseKeyedForm(output: DataValue | undefined): OutputUnit[] | null {
  let entries: [Uint8Array, DataValue][]
  if (isDataDict(output)) {
    entries = Object.entries(output).map(([k, v]) => [workUnitKeyBytes(k), v])
  } else if (output instanceof Map) {
    entries = []
    for (const [k, v] of output) {
      if (typeof k !== 'string' && !(k instanceof Uint8Array)) return null
      entries.push([workUnitKeyBytes(k), v])
    }
  } else {
    return null
  }
  const units = new Map<string, OutputUnit>()
  for (const [key, value] of entries) {
    const data = asDict(value)
    // A dict that is not entirely name → dict is not this form, and no other form is a dict.
    if (data === null) return []
    units.set(workUnitKeyId(key), { key, data, priority: 0, notBefore: null })
  }
  return [...units.values()]
}

// Python 2 dicts can arrive with byte-string keys; they name the same fields as text keys.
function asDict(value: DataValue | undefined): DataDict | null {
  if (isDataDict(value)) return value
  if (!(value instanceof Map)) return null
  const dict: DataDict = {}
  for (const [k, v] of value) {
    if (typeof k !== 'string' && !(k instanceof Uint8Array)) return null
    const name = typeof k === 'string' ? k : workUnitKeyName(k)
    // defineProperty, because plain assignment of "__proto__" would replace the prototype.
    Object.defineProperty(dict, name, { value: v, enumerable: true, writable: true, configurable: true })
  }
  return dict
}

function finiteNumber(value: DataValue, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    const shown = typeof value === 'number' ? String(value) : describe(value)
    throw new InvalidInputError(`${what} must be a finite number, not ${shown}`)
  }
  return value
}
