import { InvalidInputError } from './errors.js'
import { MAX_DATA_DEPTH } from './limits.js'

/**
 * A value inside a data dict. Python's types map as: str (bytes) → Uint8Array, unicode → string,
 * int → number or bigint (beyond 2^53), float → number, tuple → Tuple, uuid.UUID → Uuid,
 * dict → DataDict (string keys) or Map (when a key is not a string), list → array.
 */
export type DataValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Tuple
  | Uuid
  | DataValue[]
  | DataMap
  | DataDict

/** A dict whose keys are not all strings (Python allows int keys, for one). */
export type DataMap = Map<DataValue, DataValue>

/** A dict with string keys: work spec definitions, work unit and attempt data, worker data. */
export interface DataDict {
  [key: string]: DataValue
}

/** A Python tuple: kept apart from lists so it comes back as a tuple (CBOR tag 128). */
export class Tuple {
  readonly items: DataValue[]

  constructor(items: DataValue[] = []) {
    this.items = items
  }

  /** Makes a tuple of the given items. */
  static of(...items: DataValue[]): Tuple {
    return new Tuple(items)
  }
}

/** A UUID: 16 bytes, kept as a UUID rather than a string or bytes (CBOR tag 37). */
export class Uuid {
  readonly bytes: Uint8Array

  constructor(bytes: Uint8Array) {
    if (bytes.length !== 16) throw new InvalidInputError(`a UUID has 16 bytes, not ${bytes.length}`)
    this.bytes = bytes
  }

  /** Parses the usual 8-4-4-4-12 hex form. */
  static parse(text: string): Uuid {
    const hex = text.replace(/-/g, '')
    if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new InvalidInputError(`not a UUID: ${JSON.stringify(text)}`)
    return new Uuid(Uint8Array.from(Buffer.from(hex, 'hex')))
  }

  /** The 8-4-4-4-12 hex form. */
  toString(): string {
    const h = Buffer.from(this.bytes).toString('hex')
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }
}

/** A work unit key: any bytes; a string stands for its UTF-8 encoding. */
export type WorkUnitKey = string | Uint8Array

const lenientUtf8 = new TextDecoder('utf-8', { fatal: false })

/** The bytes a work unit key stands for. */
export function workUnitKeyBytes(key: WorkUnitKey): Uint8Array {
  if (typeof key === 'string') {
    const bytes = Buffer.from(key, 'utf8')
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  if (key instanceof Uint8Array) return key
  throw new InvalidInputError(`a work unit key must be a string or bytes, not ${describe(key)}`)
}

/** A work unit key as text, for display and for the `name` of a unit (invalid UTF-8 shows as U+FFFD). */
export function workUnitKeyName(key: Uint8Array): string {
  return lenientText(key)
}

/** Bytes as text, invalid UTF-8 shown as U+FFFD (for names and messages, never for keys). */
export function lenientText(bytes: Uint8Array): string {
  return lenientUtf8.decode(bytes)
}

/**
 * A string holding exactly a key's bytes, one char per byte (latin1): the one way a byte key
 * becomes a Map or Set key, cheap and exact for arbitrary bytes.
 */
export function workUnitKeyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')
}

/** Tells whether a value is a plain string-keyed dict (not an array, Map, Tuple, Uuid or bytes). */
export function isDataDict(value: unknown): value is DataDict {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/** Checks that `value` is a data dict made only of DataValues; throws InvalidInputError otherwise. */
export function assertDataDict(value: unknown, what = 'data'): asserts value is DataDict {
  if (!isDataDict(value)) throw new InvalidInputError(`${what} must be a dict, not ${describe(value)}`)
  const bad = findBadValue(value, 0)
  if (bad !== undefined) throw new InvalidInputError(`${what}${bad.path} ${bad.reason}`)
}

// CBOR integers carry 64 bits and a sign; anything wider would need a bignum tag Python refuses.
const INT64_SPAN = 2n ** 64n

/** Whether a string is well-formed UTF-16 (no lone surrogate), so its UTF-8 form reads back equal. */
export function isWellFormedText(text: string): boolean {
  return (text as unknown as WellFormedCheck).isWellFormed()
}

// String.prototype.isWellFormed is in Node 20 but not in the ES2023 library types.
interface WellFormedCheck {
  isWellFormed(): boolean
}

interface BadValue {
  path: string
  reason: string
}

// Returns where the first unstorable value is, or undefined. Paths are built only on the way
// back from a failure: this runs for every unit of a bulk add.
function findBadValue(value: unknown, depth: number): BadValue | undefined {
  if (value === null) return undefined
  switch (typeof value) {
    case 'boolean':
    case 'number':
      return undefined
    case 'string':
      return isWellFormedText(value) ? undefined : { path: '', reason: 'is a string with a lone surrogate' }
    case 'bigint':
      return value < INT64_SPAN && value > -INT64_SPAN ? undefined : { path: '', reason: `is an integer wider than 64 bits` }
  }
  if (depth > MAX_DATA_DEPTH) return { path: '', reason: `is nested more than ${MAX_DATA_DEPTH} deep` }
  if (value instanceof Uint8Array || value instanceof Uuid) return undefined
  if (Array.isArray(value) || value instanceof Tuple) {
    const items: readonly unknown[] = value instanceof Tuple ? value.items : value
    for (let i = 0; i < items.length; i++) {
      const bad = findBadValue(items[i], depth + 1)
      if (bad) return { path: `[${i}]${bad.path}`, reason: bad.reason }
    }
    return undefined
  }
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const bad = findBadValue(k, depth + 1) ?? findBadValue(v, depth + 1)
      if (bad) return { path: `[${String(k)}]${bad.path}`, reason: bad.reason }
    }
    return undefined
  }
  if (isDataDict(value)) {
    for (const k in value) {
      if (!isWellFormedText(k)) return { path: '', reason: 'has a key with a lone surrogate' }
      const bad = findBadValue(value[k], depth + 1)
      if (bad) return { path: `.${k}${bad.path}`, reason: bad.reason }
    }
    return undefined
  }
  return { path: '', reason: `holds ${describe(value)}, which data cannot store` }
}

/** A short description of a value's type for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'undefined'
  if (Array.isArray(value)) return 'a list'
  if (value instanceof Uint8Array) return 'bytes'
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object'
  return `a ${typeof value}`
}
