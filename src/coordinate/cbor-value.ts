import { Tuple, Uuid, describe, isDataDict } from './data.js'
import { InvalidInputError } from './errors.js'

/** Makes the error thrown for a value that CBOR cannot carry. */
export type UnsendableError = (message: string) => Error

const invalidInput: UnsendableError = (message) => new InvalidInputError(message)

const UINT64_LIMIT = 2n ** 64n
const UINT32_LIMIT = 2 ** 32

/**
 * Checks that a value is made only of DataValues (plus undefined, sent as null) and returns it
 * ready for cbor-x, sharing every part that needs no change. Two things are fixed on the way:
 * cbor-x writes integers beyond 32 bits as float64 when they are JS numbers, which Python would
 * read as floats, so those become bigints; and anything cbor-x would write with a tag other than
 * 37 or 128 (a Date, a Set, a bignum beyond 64 bits, a typed array…) is refused, because the
 * Python client raises a BaseException on any tag it does not know.
 */
export function toCborValue(value: unknown, maxDepth = 512, fail: UnsendableError = invalidInput): unknown {
  return convert(value, 0, maxDepth, fail)
}

function convert(value: unknown, depth: number, maxDepth: number, fail: UnsendableError): unknown {
  if (depth > maxDepth) throw fail(`value nested more than ${maxDepth} deep (or cyclic)`)
  switch (typeof value) {
    case 'undefined':
      return null
    case 'boolean':
    case 'string':
      return value
    case 'number':
      return Number.isSafeInteger(value) && (value >= UINT32_LIMIT || value < -UINT32_LIMIT) ? BigInt(value) : value
    case 'bigint':
      if (value >= UINT64_LIMIT || value <= -UINT64_LIMIT) {
        throw fail(`integer ${value} needs more than 64 bits`)
      }
      return value
    case 'object':
      break
    default:
      throw fail(`cannot send ${describe(value)}`)
  }
  if (value === null || value instanceof Uint8Array || value instanceof Uuid) return value
  if (value instanceof Tuple) {
    const items = convertItems(value.items, depth, maxDepth, fail)
    return items === value.items ? value : new Tuple(items as Tuple['items'])
  }
  if (Array.isArray(value)) return convertItems(value, depth, maxDepth, fail)
  if (value instanceof Map) return convertMap(value, depth, maxDepth, fail)
  if (isDataDict(value)) return convertDict(value, depth, maxDepth, fail)
  throw fail(`cannot send ${describe(value)}`)
}

function convertItems(items: readonly unknown[], depth: number, maxDepth: number, fail: UnsendableError): readonly unknown[] {
  let copy: unknown[] | undefined
  for (let i = 0; i < items.length; i++) {
    const item = items[i]
    const converted = convert(item, depth + 1, maxDepth, fail)
    if (converted !== item) copy ??= items.slice(0, i)
    if (copy) copy.push(converted)
  }
  return copy ?? items
}

function convertMap(map: Map<unknown, unknown>, depth: number, maxDepth: number, fail: UnsendableError): Map<unknown, unknown> {
  let changed = false
  const entries: [unknown, unknown][] = []
  for (const [key, item] of map) {
    const entry: [unknown, unknown] = [convert(key, depth + 1, maxDepth, fail), convert(item, depth + 1, maxDepth, fail)]
    if (entry[0] !== key || entry[1] !== item) changed = true
    entries.push(entry)
  }
  return changed ? new Map(entries) : map
}

function convertDict(dict: object, depth: number, maxDepth: number, fail: UnsendableError): object {
  let copy: Record<string, unknown> | undefined
  const entries = Object.entries(dict)
  for (let i = 0; i < entries.length; i++) {
    const [key, item] = entries[i]!
    const converted = convert(item, depth + 1, maxDepth, fail)
    if (converted !== item && !copy) {
      copy = {}
      for (const [earlierKey, earlier] of entries.slice(0, i)) defineEntry(copy, earlierKey, earlier)
    }
    if (copy) defineEntry(copy, key, converted)
  }
  return copy ?? dict
}

// Plain assignment would treat a "__proto__" key as the prototype instead of an entry.
function defineEntry(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}
