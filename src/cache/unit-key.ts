import { type WorkUnitKey, workUnitKeyId } from '../coordinate/data.js'

const ASCII = /^[\x00-\x7f]*$/

/**
 * The map key the cache files a work unit under: its bytes, one char per byte (latin1). A text
 * key and its UTF-8 bytes are the same unit, so they must land on the same entry; for the usual
 * ASCII key the text already is that string, which keeps hot lookups free of encoding work.
 * Undefined for something that is not a key, which the backend is left to reject.
 */
export function canonicalKey(key: WorkUnitKey): string | undefined {
  if (typeof key === 'string') return ASCII.test(key) ? key : workUnitKeyId(Buffer.from(key, 'utf8'))
  if (key instanceof Uint8Array) return workUnitKeyId(key)
  return undefined
}

/** The bytes a canonical key stands for. */
export function canonicalKeyBytes(canonical: string): Uint8Array {
  const buffer = Buffer.from(canonical, 'latin1')
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
}
