import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_FRAME_BYTES, ItemScanner, type ScanLimits } from './cbor-scan.js'
import { FramingError } from './errors.js'

// An idle connection keeps at most this much buffer; one big message should not pin memory forever.
const IDLE_CAPACITY = 64 * 1024
const MIN_CAPACITY = 4 * 1024

/**
 * Cuts a TCP byte stream into messages. CBOR-RPC has no length prefix: each message is one
 * self-delimiting CBOR item, so the framer scans item headers to find where each one ends.
 * Unparsed bytes never exceed `maxBytes`; after a FramingError the framer stays broken.
 */
export class Framer {
  readonly #limits: ScanLimits
  #scanner: ItemScanner
  #buffer = new Uint8Array(0)
  #start = 0
  #end = 0
  #broken: FramingError | undefined

  constructor(limits: Partial<ScanLimits> = {}) {
    this.#limits = {
      maxBytes: limits.maxBytes ?? DEFAULT_MAX_FRAME_BYTES,
      maxDepth: limits.maxDepth ?? DEFAULT_MAX_DEPTH,
    }
    this.#scanner = new ItemScanner(this.#limits)
  }

  /** Bytes received that are not yet part of a complete message. */
  get pendingBytes(): number {
    return this.#end - this.#start
  }

  /**
   * Adds received bytes. Returns the messages they completed, in order (each a copy), and the
   * FramingError that stopped the scan, if any: the messages before it are still good to answer.
   */
  push(chunk: Uint8Array): { frames: Uint8Array[]; error?: FramingError } {
    if (this.#broken) return { frames: [], error: this.#broken }
    const frames: Uint8Array[] = []
    try {
      let offset = 0
      // Take the chunk in slices so that the unparsed part never grows past the limit, even when
      // one chunk holds many whole messages followed by the start of an oversized one.
      while (offset < chunk.length) {
        const room = this.#limits.maxBytes - this.pendingBytes
        if (room === 0) throw new FramingError('too-large', `CBOR item larger than ${this.#limits.maxBytes} bytes`)
        const take = Math.min(room, chunk.length - offset)
        this.#append(chunk.subarray(offset, offset + take))
        offset += take
        this.#extract(frames)
      }
    } catch (error) {
      this.#broken =
        error instanceof FramingError ? error : new FramingError('malformed', `cannot scan the stream: ${String(error)}`)
      this.#buffer = new Uint8Array(0)
      this.#start = this.#end = 0
      return { frames, error: this.#broken }
    }
    return { frames }
  }

  #extract(frames: Uint8Array[]): void {
    while (this.#start < this.#end) {
      const length = this.#scanner.scan(this.#buffer, this.#start, this.#end)
      if (length === undefined) break
      frames.push(this.#buffer.slice(this.#start, this.#start + length))
      this.#start += length
      this.#scanner = new ItemScanner(this.#limits)
    }
    if (this.#start === this.#end) {
      this.#start = this.#end = 0
      if (this.#buffer.length > IDLE_CAPACITY) this.#buffer = new Uint8Array(0)
    }
  }

  #append(bytes: Uint8Array): void {
    const pending = this.pendingBytes
    const needed = pending + bytes.length
    if (this.#end + bytes.length > this.#buffer.length) {
      const canGrow = this.#buffer.length < this.#limits.maxBytes
      if (needed <= this.#buffer.length && (pending <= this.#buffer.length / 2 || !canGrow)) {
        this.#buffer.copyWithin(0, this.#start, this.#end)
      } else {
        // Doubling keeps the copying linear while a large message arrives in many small chunks.
        const capacity = Math.min(Math.max(needed, this.#buffer.length * 2, MIN_CAPACITY), this.#limits.maxBytes)
        const grown = new Uint8Array(capacity)
        grown.set(this.#buffer.subarray(this.#start, this.#end))
        this.#buffer = grown
      }
      this.#start = 0
      this.#end = pending
    }
    this.#buffer.set(bytes, this.#end)
    this.#end += bytes.length
  }
}
