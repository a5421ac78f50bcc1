import { TUPLE_TAG, UUID_TAG, decodeRaw, encodePrepared, normalizeDecoded, toCborValue } from '../coordinate/cbor-data.js'
import { type DataValue, Tuple, describe, isDataDict } from '../coordinate/data.js'
import { DEFAULT_MAX_DEPTH, measureItem, readHeader } from './cbor-scan.js'
import { FramingError, MessageError, UnknownTagError, UnsendableValueError } from './errors.js'

/** CBOR tag 24, "encoded CBOR data item": the envelope around every message. */
export const ENVELOPE_TAG = 24

/** A request as the handler sees it: the method name as text, params as normalized DataValues. */
export interface RpcRequest {
  readonly id: DataValue
  readonly method: string
  readonly params: DataValue[]
}

/** A response: `result` (present even when null) on success, `error.message` on failure. */
export type RpcResponse =
  | { readonly id: DataValue; readonly result: unknown }
  | { readonly id: DataValue; readonly error: { readonly message: string } }

/** Options for decoding one message. */
export interface DecodeOptions {
  /** Nesting allowed inside the message (the envelope's own layers do not count). */
  readonly maxDepth?: number
}

// Tags a message may contain besides the envelope: Python sends bignums (2, 3) for ints past 64 bits.
// Anything else is refused before cbor-x sees it, since cbor-x gives some tags (28/29 shared
// references, 27 constructors, 1 dates…) meanings of its own, one of which can build cycles.
const READABLE_TAGS: ReadonlySet<number> = new Set([2, 3, UUID_TAG, TUPLE_TAG])
// Python's TagMapper unwraps tag 24 recursively; a few layers are plenty.
const MAX_ENVELOPES = 4

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Encodes a response. Envelope keys are written as text strings, unlike the byte strings of the
 * Python server and go-coordinate: the Python 2 client finds them either way (`u'id' == 'id'`
 * with equal hashes), and text is what any other client expects. Throws UnsendableValueError
 * when the result holds something the wire cannot carry.
 */
export function encodeResponse(response: RpcResponse): Uint8Array {
  const message =
    'result' in response
      ? { id: toWireValue(response.id), result: toWireValue(response.result) }
      : { id: toWireValue(response.id), error: { message: String(response.error.message) } }
  return wrap(encodePrepared(message))
}

/** Encodes a request, keys and method name as text strings. */
export function encodeRequest(request: RpcRequest): Uint8Array {
  return wrap(encodePrepared({ id: toWireValue(request.id), method: request.method, params: toWireValue(request.params) }))
}

/**
 * Decodes one request, with or without the tag-24 envelope. Keys and the method name may be byte
 * or text strings (Python 2 sends bytes). Missing params count as none. Throws MessageError (with
 * the id when it could be read) for anything that is not a usable request.
 */
export function decodeRequest(frame: Uint8Array, options: DecodeOptions = {}): RpcRequest {
  const { entries, problem } = readEntries(frame, options.maxDepth ?? DEFAULT_MAX_DEPTH)
  const id = readId(entries, problem)
  try {
    if (problem) throw problem
    const methodEntry = entries.get('method')
    if (!methodEntry) throw new MessageError('the request has no method')
    const method = decodeEntry(methodEntry, 'method')
    const paramsEntry = entries.get('params')
    const params = paramsEntry ? decodeEntry(paramsEntry, 'params') : []
    return { id, method: asText(method, 'method'), params: asParams(params) }
  } catch (error) {
    if (error instanceof MessageError) throw error.withId(id)
    throw error
  }
}

/** Decodes one response, with or without the tag-24 envelope. */
export function decodeResponse(frame: Uint8Array, options: DecodeOptions = {}): RpcResponse {
  const { entries, problem } = readEntries(frame, options.maxDepth ?? DEFAULT_MAX_DEPTH)
  const id = readId(entries, problem)
  try {
    if (problem) throw problem
    const resultEntry = entries.get('result')
    if (resultEntry) return { id, result: decodeEntry(resultEntry, 'result') }
    const errorEntry = entries.get('error')
    if (!errorEntry) throw new MessageError('the response has neither result nor error')
    const error = decodeEntry(errorEntry, 'error')
    const message = isDataDict(error) ? error.message : undefined
    if (typeof message === 'string' || message instanceof Uint8Array) return { id, error: { message: asText(message, 'error message') } }
    return { id, error: { message: `malformed error ${describe(error)}` } }
  } catch (error) {
    if (error instanceof MessageError) throw error.withId(id)
    throw error
  }
}

// The id, if it was read before any problem and decodes cleanly; null otherwise. A request
// without an id is refused, but only once the rest has been looked at for a better complaint.
function readId(entries: ReadonlyMap<string, Entry>, problem: MessageError | undefined): DataValue {
  const entry = entries.get('id')
  if (!entry) {
    if (problem) throw problem
    throw new MessageError('the message has no id')
  }
  return decodeEntry(entry, 'id')
}

interface Entry {
  readonly bytes: Uint8Array
  readonly tags: ReadonlySet<number>
}

// Splits the message map into its entries without decoding them, so that a bad params value
// still leaves the id readable for the error response. Entries before a problem are kept.
function readEntries(frame: Uint8Array, maxDepth: number): { entries: Map<string, Entry>; problem?: MessageError } {
  const entries = new Map<string, Entry>()
  try {
    const message = openEnvelope(frame)
    const header = readHeader(message, 0, message.length)
    if (!header) throw new MessageError('empty message')
    if (header.major !== 5) throw new MessageError(`a message must be a map, not CBOR major type ${header.major}`)
    let at = header.size
    for (let pair = 0; header.info === 31 || pair < header.argument; pair++) {
      if (header.info === 31 && message[at] === 0xff) {
        at++
        break
      }
      const key = measureItem(message, at, message.length, maxDepth - 1)
      const valueStart = at + key.length
      const value = measureItem(message, valueStart, message.length, maxDepth - 1)
      const name = keyName(message.subarray(at, valueStart))
      at = valueStart + value.length
      if (name !== undefined) entries.set(name, { bytes: message.subarray(valueStart, at), tags: value.tags })
    }
    if (at !== message.length) throw new MessageError('bytes left over after the message map')
    return { entries }
  } catch (error) {
    if (error instanceof MessageError) return { entries, problem: error }
    if (error instanceof FramingError) return { entries, problem: new MessageError(error.message) }
    throw error
  }
}

function openEnvelope(frame: Uint8Array): Uint8Array {
  let bytes = frame
  for (let layer = 0; ; layer++) {
    const tag = readHeader(bytes, 0, bytes.length)
    if (!tag || tag.major !== 6 || tag.argument !== ENVELOPE_TAG) return bytes
    if (layer === MAX_ENVELOPES) throw new MessageError(`more than ${MAX_ENVELOPES} tag-24 envelopes`)
    const content = readHeader(bytes, tag.size, bytes.length)
    if (!content || content.major !== 2 || content.info === 31) {
      throw new MessageError('tag 24 must wrap a definite-length byte string')
    }
    const start = tag.size + content.size
    if (start + content.argument !== bytes.length) throw new MessageError('the tag-24 byte string does not fill the message')
    bytes = bytes.subarray(start)
  }
}

// The name of a text or byte string key; undefined for keys of other types, which are ignored.
function keyName(key: Uint8Array): string | undefined {
  const header = readHeader(key, 0, key.length)
  if (!header || (header.major !== 2 && header.major !== 3) || header.info === 31) return undefined
  try {
    return utf8.decode(key.subarray(header.size))
  } catch {
    return undefined
  }
}

function decodeEntry(entry: Entry, where: string): DataValue {
  const unknown = [...entry.tags].find((tag) => !READABLE_TAGS.has(tag))
  if (unknown !== undefined) throw new UnknownTagError(unknown, where)
  let decoded: unknown
  try {
    decoded = decodeRaw(entry.bytes)
  } catch (error) {
    throw new MessageError(`cannot decode ${where}: ${(error as Error).message}`)
  }
  try {
    return normalizeDecoded(decoded)
  } catch (error) {
    throw new MessageError(`bad ${where}: ${(error as Error).message}`)
  }
}

function asText(value: DataValue, what: string): string {
  if (typeof value === 'string') return value
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value)
    } catch {
      throw new MessageError(`the ${what} is not valid UTF-8`)
    }
  }
  throw new MessageError(`the ${what} must be a string, not ${describe(value)}`)
}

function asParams(value: DataValue): DataValue[] {
  if (Array.isArray(value)) return value
  if (value instanceof Tuple) return value.items
  throw new MessageError(`params must be an array, not ${describe(value)}`)
}

// A result or request ready for encodePrepared(); values the wire cannot carry throw UnsendableValueError.
function toWireValue(value: unknown): unknown {
  return toCborValue(value, 512, (message) => new UnsendableValueError(message))
}

// Prefixes the tag-24 header and the byte-string header; copies, because cbor-x reuses its buffer.
function wrap(payload: Uint8Array): Uint8Array {
  const length = payload.length
  const [info, lengthBytes] = length < 24 ? [length, 0] : length < 0x100 ? [24, 1] : length < 0x10000 ? [25, 2] : [26, 4]
  const headerSize = 3 + lengthBytes
  const out = new Uint8Array(headerSize + length)
  out[0] = 0xd8 // major type 6 (tag), one-byte tag number follows
  out[1] = ENVELOPE_TAG
  out[2] = 0x40 | info // major type 2 (byte string)
  for (let i = headerSize - 1, rest = length; i >= 3; i--, rest = Math.floor(rest / 256)) out[i] = rest % 256
  out.set(payload, headerSize)
  return out
}
