import { encodeData } from '../coordinate/cbor-data.js'
import type { DataDict } from '../coordinate/data.js'

/**
 * An attempt's new data as the completion, renewal and release statements take it: CBOR bytes,
 * or null where the call leaves the data as it is. Callers validate the data first.
 */
export function encodeAttemptData(data: DataDict | null | undefined): Buffer | null {
  return data === undefined || data === null ? null : Buffer.from(encodeData(data))
}
