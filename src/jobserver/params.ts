import { type DataDict, type DataValue, Tuple, describe, isDataDict } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { validateName, validateWorkUnitKey } from '../coordinate/validation.js'

// Python 2 sends every `str` as a CBOR byte string, so any name or key may arrive as bytes; a
// name must still be UTF-8 to be compared with the text names stored in Postgres.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Reads a name sent as a text string or as a (Python 2) byte string holding UTF-8, within the name limits. */
export function readText(value: unknown, what: string): string {
  if (typeof value === 'string') return validateName(value, what)
  if (value instanceof Uint8Array) {
    let text: string
    try {
      text = strictUtf8.decode(value)
    } catch {
      throw new InvalidInputError(`${what} is not valid UTF-8`)
    }
    return validateName(text, what)
  }
  throw new InvalidInputError(`${what} must be a string, not ${describe(value)}`)
}

/** Like readText, but null (Python's None) and a missing value give undefined. */
export function readOptionalText(value: unknown, what: string): string | undefined {
  return value === null || value === undefined ? undefined : readText(value, what)
}

/** Reads a work unit key: any bytes, or text standing for its UTF-8 encoding. */
export function readKey(value: unknown, what: string): Uint8Array {
  if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
    throw new InvalidInputError(`${what} must be a string, not ${describe(value)}`)
  }
  return validateWorkUnitKey(value, what)
}

/** Reads a list sent as a CBOR array or as a Python tuple (tag 128). */
export function readList(value: unknown, what: string): readonly unknown[] {
  if (Array.isArray(value)) return value
  if (value instanceof Tuple) return value.items
  throw new InvalidInputError(`${what} must be a list, not ${describe(value)}`)
}

/** Reads a list of work unit keys. */
export function readKeys(value: unknown, what: string): Uint8Array[] {
  return readList(value, what).map((key, i) => readKey(key, `${what}[${i}]`))
}

/** Reads a list of names (text or UTF-8 bytes). */
export function readNames(value: unknown, what: string): string[] {
  return readList(value, what).map((name, i) => readText(name, `${what}[${i}]`))
}

/** Reads a dict whose keys are all strings (a Python dict of str or unicode keys). */
export function readDict(value: unknown, what: string): DataDict {
  if (isDataDict(value)) return value
  if (value instanceof Map) throw new InvalidInputError(`${what} must be a dict with string keys`)
  throw new InvalidInputError(`${what} must be a dict, not ${describe(value)}`)
}

/** Reads an options dict; null (Python's None) counts as no options. */
export function readOptions(value: unknown, what: string): DataDict {
  return value === null || value === undefined ? {} : readDict(value, what)
}

/** One option's value; a key that is absent or set to null (None) gives undefined, as in Python's `options.get`. */
export function option(options: DataDict, key: string): DataValue | undefined {
  if (!Object.hasOwn(options, key)) return undefined
  const value = options[key]
  return value === null ? undefined : value
}

/** Reads an optional finite number (int or float); booleans are refused. */
export function readOptionalNumber(value: unknown, what: string): number | undefined {
  if (value === null || value === undefined) return undefined
  if (typeof value === 'number' && Number.isFinite(value)) return value
  if (typeof value === 'bigint') {
    const n = Number(value)
    if (Number.isSafeInteger(n)) return n
  }
  const shown = typeof value === 'number' || typeof value === 'bigint' ? String(value) : describe(value)
  throw new InvalidInputError(`${what} must be a finite number, not ${shown}`)
}

/** Reads a required finite number. */
export function readNumber(value: unknown, what: string): number {
  const n = readOptionalNumber(value, what)
  if (n === undefined) throw new InvalidInputError(`${what} must be a finite number, not null`)
  return n
}

/** Reads an optional integer; a float is truncated, as Python's `int()` does. */
export function readOptionalInteger(value: unknown, what: string): number | undefined {
  const n = readOptionalNumber(value, what)
  return n === undefined ? undefined : Math.trunc(n)
}

/** Reads an optional flag: a boolean, or a number read as Python reads its truth. */
export function readOptionalBoolean(value: unknown, what: string): boolean | undefined {
  if (value === null || value === undefined) return undefined
  if (typeof value === 'boolean') return value
  if (typeof value === 'number') return value !== 0
  throw new InvalidInputError(`${what} must be a boolean, not ${describe(value)}`)
}

/** Sets a dict entry whatever the key; plain assignment would treat "__proto__" as the prototype. */
export function defineEntry(dict: DataDict, key: string, value: DataValue): void {
  Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true })
}
