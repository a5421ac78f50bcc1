import { FramingError } from './errors.js'

/** How large and how deeply nested one CBOR item may be before it is refused. */
export interface ScanLimits {
  /** Bytes one item may take, headers included. */
  readonly maxBytes: number
  /** Containers (arrays, maps, tags, indefinite-length strings) that may be open at once. */
  readonly maxDepth: number
}

/** 64 MiB: far above any real request, far below what would hurt the daemon. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
/** Deep enough for any real work unit data, shallow enough for cbor-x's recursive decoder. */
export const DEFAULT_MAX_DEPTH = 256

/** The initial byte of a CBOR item and the argument that follows it. */
export interface CborHeader {
  /** Major type, 0–7. */
  readonly major: number
  /** The low five bits of the initial byte. */
  readonly info: number
  /** The value, length or count; -1 for info 31 (indefinite length, or break). */
  readonly argument: number
  /** Bytes the header takes. */
  readonly size: number
}

/**
 * Reads the header at `at`; undefined when the bytes before `end` do not hold all of it yet.
 * Arguments past 2^53 lose precision, which only matters for values already beyond every limit.
 */
export function readHeader(bytes: Uint8Array, at: number, end: number): CborHeader | undefined {
  if (at >= end) return undefined
  const initial = bytes[at]!
  const major = initial >> 5
  const info = initial & 0x1f
  if (info < 24) return { major, info, argument: info, size: 1 }
  if (info === 31) return { major, info, argument: -1, size: 1 }
  if (info > 27) throw new FramingError('malformed', `reserved additional information ${info} in byte 0x${initial.toString(16)}`)
  const size = 1 + (1 << (info - 24))
  if (at + size > end) return undefined
  let argument = 0
  for (let i = 1; i < size; i++) argument = argument * 256 + bytes[at + i]!
  return { major, info, argument, size }
}

interface OpenContainer {
  /** Items still expected, for definite lengths. */
  remaining: number
  /** Items seen so far, for indefinite lengths (a map must end on an even count). */
  seen: number
  readonly indefinite: boolean
  readonly isMap: boolean
  /** For an indefinite-length string, the major type its chunks must have; -1 otherwise. */
  readonly chunkMajor: number
}

/**
 * Follows one CBOR item through a buffer that may still be growing: each call resumes where the
 * last one stopped, so every byte is looked at once, and nothing recurses, so depth costs no stack.
 * Declared lengths are checked against the limits as soon as their header is read.
 */
export class ItemScanner {
  readonly #limits: ScanLimits
  readonly #open: OpenContainer[] = []
  readonly #tags = new Set<number>()
  #offset = 0

  constructor(limits: ScanLimits) {
    this.#limits = limits
  }

  /** The tag numbers met so far. */
  get tags(): ReadonlySet<number> {
    return this.#tags
  }

  /**
   * Scans `bytes[start, end)`, where `start` is the item's first byte (the same on every call).
   * Returns the item's length once it is complete, undefined while more bytes are needed.
   */
  scan(bytes: Uint8Array, start: number, end: number): number | undefined {
    for (;;) {
      const at = start + this.#offset
      const header = readHeader(bytes, at, end)
      if (!header) return undefined
      const { major, info, argument, size } = header
      this.#checkSize(this.#offset + size)
      const top = this.#open.at(-1)
      if (major === 7 && info === 31) {
        if (!top?.indefinite) throw malformed('a break byte (0xff) outside an indefinite-length item')
        if (top.isMap && top.seen % 2 === 1) throw malformed('an indefinite-length map ends between a key and its value')
        this.#open.pop()
        this.#offset += size
        if (this.#itemDone()) return this.#offset
        continue
      }
      if (top && top.chunkMajor >= 0 && (major !== top.chunkMajor || info === 31)) {
        throw malformed('an indefinite-length string holds something other than definite strings of its type')
      }
      switch (major) {
        case 0:
        case 1:
          if (info === 31) throw malformed('an integer with indefinite length')
          this.#offset += size
          break
        case 2:
        case 3:
          if (info === 31) {
            this.#push({ remaining: 0, seen: 0, indefinite: true, isMap: false, chunkMajor: major })
            this.#offset += size
            continue
          }
          this.#checkSize(this.#offset + size + argument)
          if (at + size + argument > end) return undefined
          this.#offset += size + argument
          break
        case 4:
        case 5: {
          const isMap = major === 5
          this.#offset += size
          if (info === 31) {
            this.#push({ remaining: 0, seen: 0, indefinite: true, isMap, chunkMajor: -1 })
            continue
          }
          const items = isMap ? argument * 2 : argument
          if (items === 0) break
          // Every item takes at least one byte, so an impossible count is refused before any arrive.
          this.#checkSize(this.#offset + items)
          this.#push({ remaining: items, seen: 0, indefinite: false, isMap, chunkMajor: -1 })
          continue
        }
        case 6:
          if (info === 31) throw malformed('a tag with indefinite length')
          this.#tags.add(argument)
          this.#offset += size
          this.#push({ remaining: 1, seen: 0, indefinite: false, isMap: false, chunkMajor: -1 })
          continue
        default:
          if (info === 24 && argument < 32) throw malformed('a two-byte simple value below 32')
          this.#offset += size
      }
      if (this.#itemDone()) return this.#offset
    }
  }

  // Counts a finished item toward the containers around it; true once the outermost item is done.
  #itemDone(): boolean {
    for (;;) {
      const top = this.#open.at(-1)
      if (!top) return true
      if (top.indefinite) {
        top.seen++
        return false
      }
      if (--top.remaining > 0) return false
      this.#open.pop()
    }
  }

  #push(container: OpenContainer): void {
    if (this.#open.length >= this.#limits.maxDepth) {
      throw new FramingError('too-deep', `CBOR item nested more than ${this.#limits.maxDepth} deep`)
    }
    this.#open.push(container)
  }

  #checkSize(bytes: number): void {
    if (bytes > this.#limits.maxBytes) {
      throw new FramingError('too-large', `CBOR item larger than ${this.#limits.maxBytes} bytes`)
    }
  }
}

/** The length of the one item at `start` in a buffer that is already complete, and the tags in it. */
export function measureItem(
  bytes: Uint8Array,
  start: number,
  end: number,
  maxDepth: number,
): { length: number; tags: ReadonlySet<number> } {
  const scanner = new ItemScanner({ maxBytes: end - start, maxDepth })
  let length: number | undefined
  try {
    length = scanner.scan(bytes, start, end)
  } catch (error) {
    // The only size limit here is the end of the buffer, so "too large" means "cut short".
    if (!(error instanceof FramingError) || error.problem !== 'too-large') throw error
  }
  if (length === undefined) throw malformed('a CBOR item is cut short')
  return { length, tags: scanner.tags }
}

function malformed(what: string): FramingError {
  return new FramingError('malformed', `malformed CBOR: ${what}`)
}
