import { type DataDict, type DataValue, Tuple, Uuid } from '../coordinate/data.js'

/**
 * A deep copy of a data dict. Cached data is shared by every reader, so a caller that edits
 * what it read (or an update() function that edits its argument in place, reva's dirty-cache
 * bug) must get its own copy. structuredClone would turn Tuple and Uuid into plain objects.
 */
export function copyData(dict: DataDict): DataDict {
  const out: DataDict = {}
  for (const key of Object.keys(dict)) out[key] = copyValue(dict[key] as DataValue)
  return out
}

function copyValue(value: DataValue): DataValue {
  if (value === null || typeof value !== 'object') return value
  if (value instanceof Uint8Array) return value.slice()
  if (Array.isArray(value)) return value.map(copyValue)
  if (value instanceof Map) {
    const map = new Map<DataValue, DataValue>()
    for (const [k, v] of value) map.set(copyValue(k), copyValue(v))
    return map
  }
  if (value instanceof Tuple) return new Tuple(value.items.map(copyValue))
  if (value instanceof Uuid) return new Uuid(value.bytes.slice())
  return copyData(value)
}
