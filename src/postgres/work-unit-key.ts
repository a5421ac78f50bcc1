import type { WorkUnitKey } from '../coordinate/data.js'
import { validateWorkUnitKey } from '../coordinate/validation.js'

export { MAX_KEY_BYTES } from '../coordinate/limits.js'

/** The bytes of a key, or InvalidInputError if it is not a string or bytes or is too long. */
export function checkedKey(key: WorkUnitKey): Uint8Array {
  return validateWorkUnitKey(key)
}
