import { type DataValue, Tuple, Uuid, isDataDict } from '../../coordinate/data.js'

/** JSON's own values: what `--json` prints. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A data value as JSON: byte strings as text when they are UTF-8 (Python 2 sends most text as
 * bytes), else `{"$bytes": base64}`; tuples as lists; UUIDs in their hex form; integers past
 * 2^53 as decimal strings; maps with other keys as objects keyed by the keys' JSON text.
 */
export function toJson(value: DataValue | undefined): JsonValue {
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value
    case 'number':
      return Number.isFinite(value) ? value : String(value)
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  }
  if (value instanceof Uint8Array) return bytesToJson(value)
  if (value instanceof Tuple) return value.items.map(toJson)
  if (value instanceof Uuid) return value.toString()
  if (Array.isArray(value)) return value.map(toJson)
  const out: { [key: string]: JsonValue } = {}
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const json = toJson(k)
      Object.defineProperty(out, typeof json === 'string' ? json : JSON.stringify(json), { value: toJson(v), enumerable: true, writable: true, configurable: true })
    }
    return out
  }
  if (isDataDict(value)) {
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: toJson(v), enumerable: true, writable: true, configurable: true })
  }
  return out
}

/** A key or byte string as text when it is UTF-8, else tagged base64. */
export function bytesToJson(bytes: Uint8Array): JsonValue {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return { $bytes: Buffer.from(bytes).toString('base64') }
  }
}

/** A unit key for a person to read: its text, invalid UTF-8 shown with escapes. */
export function keyText(key: Uint8Array): string {
  const json = bytesToJson(key)
  return typeof json === 'string' ? json : `0x${Buffer.from(key).toString('hex')}`
}
