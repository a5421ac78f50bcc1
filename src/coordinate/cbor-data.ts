import { Decoder, Encoder, FLOAT32_OPTIONS, Tag, addExtension } from 'cbor-x'
import { type DataDict, type DataValue, Tuple, Uuid, describe, isDataDict } from './data.js'
import { InvalidInputError } from './errors.js'
import { toCborValue } from './cbor-value.js'
import { MAX_DATA_BYTES } from './limits.js'

/** CBOR tag for a Python tuple (Diffeo's own). */
export const TUPLE_TAG = 128
/** CBOR tag for a UUID (RFC 9562 registry). */
export const UUID_TAG = 37

addExtension({
  Class: Tuple,
  tag: TUPLE_TAG,
  encode: (tuple: Tuple, encode: (items: DataValue[]) => Uint8Array) => encode(tuple.items),
  decode: (items: unknown) => new TupleMark(items),
})
addExtension({
  Class: Uuid,
  tag: UUID_TAG,
  encode: (uuid: Uuid, encode: (bytes: Uint8Array) => Uint8Array) => encode(uuid.bytes),
  decode: (bytes: unknown) => new UuidMark(bytes),
})

// The decoder's extension hooks run before we can validate, so they only mark the item;
// normalizeDecoded() checks the contents and builds the real Tuple or Uuid.
class TupleMark {
  constructor(readonly items: unknown) {}
}
class UuidMark {
  constructor(readonly bytes: unknown) {}
}

/** cbor-x options shared by stored data and the wire: byte strings untagged, floats as float64. */
export const CBOR_OPTIONS = {
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
  if (value instanceof TupleMark) {
    if (!Array.isArray(value.items)) throw new InvalidInputError('tag 128 (tuple) must wrap an array')
    return new Tuple(value.items.map((item) => normalizeDecoded(item, depth + 1)))
  }
  if (value instanceof UuidMark) {
    if (!(value.bytes instanceof Uint8Array) || value.bytes.length !== 16) {
      throw new InvalidInputError('tag 37 (UUID) must wrap a 16-byte byte string')
    }
    return new Uuid(plainBytes(value.bytes))
  }
  if (value instanceof Map) return normalizeMap(value, depth)
  if (value instanceof Tag) throw new InvalidInputError(`unsupported CBOR tag ${value.tag}`)
  throw new InvalidInputError(`unsupported CBOR value ${describe(value)}`)
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
