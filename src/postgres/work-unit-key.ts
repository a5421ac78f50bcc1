import { type WorkUnitKey, workUnitKeyBytes } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'

/**
 * The longest key accepted, in bytes. Keys live in two B-tree indexes, whose entries must fit
 * in a third of a page (about 2.7 kB); 2000 bytes leaves room for the other columns.
 */
export const MAX_KEY_BYTES = 2000

/** The bytes of a key, or InvalidInputError if it is not a string or bytes or is too long. */
export function checkedKey(key: WorkUnitKey): Uint8Array {
  const bytes = workUnitKeyBytes(key)
  if (bytes.length > MAX_KEY_BYTES) {
    throw new InvalidInputError(`a work unit key may have at most ${MAX_KEY_BYTES} bytes, not ${bytes.length}`)
  }
  return bytes
}
