import { Decoder, Encoder, FLOAT32_OPTIONS, Tag } from 'cbor-x'
import { type DataDict, type DataValue, Tuple, Uuid, describe, isDataDict } from './data.js'
import { InvalidInputError } from './errors.js'
import { MAX_DATA_BYTES } from './limits.js'

// Every use of cbor-x goes through this module: data dicts stored in Postgres, and the values
// of CBOR-RPC messages (src/cborrpc/codec.ts). It keeps an encoder and a decoder of its own and
// registers nothing with cbor-x, so other cbor-x users in the same process see cbor-x as it
// comes: tuples and UUIDs travel as cbor-x Tag objects, made by toCborValue() on the way out
// and turned back into Tuple and Uuid by normalizeDecoded() on the way in.

/** CBOR tag for a Python tuple (Diffeo's own). */
export const TUPLE_TAG = 128
/** CBOR tag for a UUID (RFC 9562 registry). */
export const UUID_TAG = 37

// Byte strings untagged, floats as float64, maps as Maps (normalizeDecoded makes dicts), and
// integers beyond 53 bits as bigints, for stored data and the wire alike.
const CBOR_OPTIONS = {
  useRecords: false,
  mapsAsObjects: false,
  tagUint8Array: false,
  useFloat32: FLOAT32_OPTIONS.NEVER,
  largeBigIntToFloat: false,
  copyBuffers: true,
  variableMapSize: true,
  int64AsType: 'bigint',
} as const

const encoder = new Encoder(CBOR_OPTIONS)
const decoder = new Decoder(CBOR_OPTIONS)

/** Encodes a data value as CBOR, tuples as tag 128 and UUIDs as tag 37; InvalidInputError beyond MAX_DATA_BYTES. */
export function encodeData(value: DataValue): Uint8Array {
  const bytes = encoder.encode(toCborValue(value))
  if (bytes.length > MAX_DATA_BYTES) throw new InvalidInputError(`data may have at most ${MAX_DATA_BYTES} bytes as CBOR, not ${bytes.length}`)
  return bytes
}

/** Encodes a value that toCborValue() made ready (a wire message around such values). */
export function encodePrepared(value: unknown): Uint8Array {
  return encoder.encode(value)
}

/** Decodes one CBOR item as cbor-x reads it; normalizeDecoded() turns that into a data value. */
export function decodeRaw(bytes: Uint8Array): unknown {
  return decoder.decode(bytes)
}

/** Decodes CBOR written by encodeData (or by a Python client) back into a data value. */
export function decodeData(bytes: Uint8Array): DataValue {
  return normalizeDecoded(decoder.decode(bytes))
}

/** Decodes CBOR that must hold a dict. */
export function decodeDataDict(bytes: Uint8Array): DataDict {
  const value = decodeData(bytes)
  if (!isDataDict(value)) throw new InvalidInputError(`stored data is ${describe(value)}, not a dict`)
  return value
}

const textDecoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Turns what cbor-x produced into DataValues: maps whose keys are all text or bytes become
 * plain dicts (byte keys read as UTF-8, as Python 2 sends them), other maps stay Maps;
 * numbers that fit become numbers; any tag other than 37 and 128 is rejected.
 */
export function normalizeDecoded(value: unknown, depth = 0): DataValue {
  if (depth > 512) throw new InvalidInputError('CBOR value nested too deep')
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case 'boolean':
    case 'string':
    case 'number':
      return value
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value
  }
  if (value instanceof Uint8Array) return plainBytes(value)
  if (Array.isArray(value)) return value.map((item) => normalizeDecoded(item, depth + 1))
  if (value instanceof Map) return normalizeMap(value, depth)
  if (value instanceof Tag) return normalizeTag(value, depth)
  throw new InvalidInputError(`unsupported CBOR value ${describe(value)}`)
}

function normalizeTag(tag: Tag, depth: number): DataValue {
  const content: unknown = tag.value
  if (tag.tag === TUPLE_TAG) {
    if (!Array.isArray(content)) throw new InvalidInputError('tag 128 (tuple) must wrap an array')
    return new Tuple(content.map((item) => normalizeDecoded(item, depth + 1)))
  }
  if (tag.tag === UUID_TAG) {
    if (!(content instanceof Uint8Array) || content.length !== 16) {
      throw new InvalidInputError('tag 37 (UUID) must wrap a 16-byte byte string')
    }
    return new Uuid(plainBytes(content))
  }
  throw new InvalidInputError(`unsupported CBOR tag ${tag.tag}`)
}

function normalizeMap(map: Map<unknown, unknown>, depth: number): DataValue {
  let stringKeys = true
  for (const key of map.keys()) {
    if (typeof key !== 'string' && !(key instanceof Uint8Array)) stringKeys = false
  }
  if (stringKeys) {
    const dict: DataDict = {}
    for (const [key, item] of map) {
      const name = typeof key === 'string' ? key : decodeKeyText(key as Uint8Array)
      // defineProperty, not assignment: a "__proto__" key from the wire must stay plain data.
      Object.defineProperty(dict, name, { value: normalizeDecoded(item, depth + 1), enumerable: true, writable: true, configurable: true })
    }
    return dict
  }
  const result = new Map<DataValue, DataValue>()
  for (const [key, item] of map) result.set(normalizeDecoded(key, depth + 1), normalizeDecoded(item, depth + 1))
  return result
}

// cbor-x hands out Buffers; data holds plain Uint8Arrays so that values compare equal either way.
function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

function decodeKeyText(key: Uint8Array): string {
  try {
    return textDecoder.decode(key)
  } catch {
    throw new InvalidInputError('a byte-string map key is not valid UTF-8')
  }
}

/** Makes the error thrown for a value that CBOR cannot carry. */
export type UnsendableError = (message: string) => Error

const invalidInput: UnsendableError = (message) => new InvalidInputError(message)

const UINT64_LIMIT = 2n ** 64n
const UINT32_LIMIT = 2 ** 32

/**
 * Checks that a value is made only of DataValues (plus undefined, sent as null) and returns it
 * ready for this module's encoder, sharing every part that needs no change. Tuples and UUIDs
 * become cbor-x Tags (128 and 37). Two more things are fixed on the way:
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
  if (value === null || value instanceof Uint8Array) return value
  if (value instanceof Uuid) return new Tag(value.bytes, UUID_TAG)
  if (value instanceof Tuple) return new Tag(convertItems(value.items, depth, maxDepth, fail), TUPLE_TAG)
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
