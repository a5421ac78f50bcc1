import { decodeDataDict, encodeData } from '../coordinate/cbor-data.js'
import { type DataDict, assertDataDict, describe, isDataDict } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'

/** A data dict as JSON carries it: the object itself, or base64 of its CBOR when JSON would lose types. */
export type JsonData = Record<string, unknown> | string

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Encodes a data dict for a JSON body: a plain object when JSON keeps every value exactly, else base64 CBOR. */
export function dataToJson(data: DataDict): JsonData {
  return isJsonSafe(data, 0) ? data : Buffer.from(encodeData(data)).toString('base64')
}

/**
 * Decodes a data dict from a JSON body (object or base64 CBOR string); InvalidInputError otherwise.
 * `storedAs`, for data a request will store, is what the backend's check calls it.
 */
export function dataFromJson(value: unknown, what = 'data', storedAs?: string): DataDict {
  if (typeof value === 'string') {
    if (!BASE64.test(value) || value.length % 4 !== 0) throw new InvalidInputError(`${what} is a string but not base64 CBOR`)
    let dict: DataDict
    try {
      dict = decodeDataDict(Buffer.from(value, 'base64'))
    } catch (error) {
      throw new InvalidInputError(`${what} is not a CBOR-encoded dict: ${error instanceof Error ? error.message : String(error)}`)
    }
    // CBOR decodes what may not be stored (too deep, lone surrogates, integers over 64 bits).
    // The backend's own check, in its words, refuses it here, before a route looks anything up:
    // a lookup answers 404 for a missing target and creates a missing namespace.
    if (storedAs !== undefined) assertDataDict(dict, storedAs)
    return dict
  }
  if (!isDataDict(value)) throw new InvalidInputError(`${what} must be a JSON object or base64 CBOR, not ${describe(value)}`)
  assertDataDict(value, what)
  return value
}

/** Decodes optional data: absent or null means "no new data"; `storedAs` as for dataFromJson. */
export function optionalDataFromJson(value: unknown, what = 'data', storedAs?: string): DataDict | undefined {
  return value === undefined || value === null ? undefined : dataFromJson(value, what, storedAs)
}

// JSON keeps: null, booleans, finite numbers (not -0), strings, arrays and string-keyed dicts
// of those. Anything else (bytes, tuples, UUIDs, Maps, bigints) needs CBOR.
function isJsonSafe(value: unknown, depth: number): boolean {
  if (value === null) return true
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return true
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0)
    case 'object':
      break
    default:
      return false
  }
  if (depth > 256) return false
  if (Array.isArray(value)) return value.every((item) => isJsonSafe(item, depth + 1))
  if (!isDataDict(value)) return false
  for (const key in value) if (!isJsonSafe(value[key], depth + 1)) return false
  return true
}
