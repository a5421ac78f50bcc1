import { type DataValue, Tuple, Uuid, isDataDict } from '../coordinate/data.js'
import type { DisplayValue } from './dashboard-types.js'

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/** A data value in the dashboard's tagged JSON, which keeps bytes, tuples, UUIDs and big integers apart. */
export function toDisplay(value: DataValue): DisplayValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $: 'float', value: String(value) }
  if (typeof value === 'bigint') return { $: 'int', value: value.toString() }
  if (value instanceof Uint8Array) return bytesDisplay(value)
  if (value instanceof Tuple) return { $: 'tuple', items: value.items.map(toDisplay) }
  if (value instanceof Uuid) return { $: 'uuid', value: value.toString() }
  if (Array.isArray(value)) return value.map(toDisplay)
  if (value instanceof Map) return { $: 'map', items: [...value].map(([k, v]) => [toDisplay(k), toDisplay(v)] as [DisplayValue, DisplayValue]) }
  if (isDataDict(value)) return { $: 'dict', items: Object.entries(value).map(([k, v]) => [k, toDisplay(v)] as [string, DisplayValue]) }
  return null
}

/** Bytes as base64, with their text when they are valid UTF-8. */
export function bytesDisplay(bytes: Uint8Array): DisplayValue {
  return { $: 'bytes', base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), text: utf8OrNull(bytes) }
}

/** The bytes as text if they are valid UTF-8, else null. */
export function utf8OrNull(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes)
  } catch {
    return null
  }
}

/** A traceback from failed-attempt data (`traceback`, as the Python worker writes it), as text. */
export function tracebackOf(data: DataValue): string | null {
  if (!isDataDict(data)) return null
  const traceback = data.traceback
  if (typeof traceback === 'string') return traceback
  if (traceback instanceof Uint8Array) return new TextDecoder().decode(traceback)
  return null
}
