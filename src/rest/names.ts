import { isWellFormedText } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'

/** The longest name or work unit key a request may carry, in bytes (the store's key limit). */
export const MAX_NAME_BYTES = 2000

const PLAIN = /^[-._:A-Za-z0-9]+$/
const BASE64URL = /^[A-Za-z0-9_-]*$/
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })
const textEncoder = new TextEncoder()

/**
 * Encodes a name or key for a URL path segment or a query parameter: as itself when it is
 * non-empty, does not start with `-` and holds only `[-._:A-Za-z0-9]`; otherwise `-` followed by
 * the unpadded base64url of its bytes. The result never needs percent-encoding.
 */
export function encodeName(name: string | Uint8Array): string {
  if (typeof name === 'string') {
    if (PLAIN.test(name) && !name.startsWith('-')) return name
    return `-${Buffer.from(name, 'utf8').toString('base64url')}`
  }
  const text = Buffer.from(name.buffer, name.byteOffset, name.byteLength)
  const latin = text.toString('latin1')
  if (PLAIN.test(latin) && !latin.startsWith('-')) return latin
  return `-${text.toString('base64url')}`
}

/** Decodes an encoded name to its exact bytes; InvalidInputError if it is malformed, too long or holds a lone surrogate. */
export function decodeKey(encoded: string, what = 'name'): Uint8Array {
  let bytes: Uint8Array
  if (encoded.startsWith('-')) {
    const body = encoded.slice(1)
    // Length 4n+1 cannot come from unpadded base64: Buffer would silently drop the extra char.
    if (!BASE64URL.test(body) || body.length % 4 === 1) {
      throw new InvalidInputError(`${what} ${JSON.stringify(encoded)} starts with "-" but the rest is not base64url`)
    }
    bytes = new Uint8Array(Buffer.from(body, 'base64url'))
  } else {
    // The encoder would write a lone surrogate (JSON text can hold one) as U+FFFD: another key.
    if (!isWellFormedText(encoded)) throw new InvalidInputError(`${what} must not contain a lone surrogate`)
    bytes = textEncoder.encode(encoded)
  }
  if (bytes.length > MAX_NAME_BYTES) throw new InvalidInputError(`${what} is ${bytes.length} bytes long; the most is ${MAX_NAME_BYTES}`)
  return bytes
}

/** Decodes an encoded name that must be text (namespaces, specs, workers): valid UTF-8 required. */
export function decodeName(encoded: string, what = 'name'): string {
  const bytes = decodeKey(encoded, what)
  if (!encoded.startsWith('-')) return encoded
  try {
    return strictUtf8.decode(bytes)
  } catch {
    throw new InvalidInputError(`${what} ${JSON.stringify(encoded)} is not valid UTF-8`)
  }
}

/** Checks a name sent as plain JSON text (not encoded) against the length limit. */
export function checkPlainName(name: string, what = 'name'): string {
  const length = Buffer.byteLength(name, 'utf8')
  if (length > MAX_NAME_BYTES) throw new InvalidInputError(`${what} is ${length} bytes long; the most is ${MAX_NAME_BYTES}`)
  return name
}
