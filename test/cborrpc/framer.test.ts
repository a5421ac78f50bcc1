import { describe, expect, it } from 'vitest'
import { FramingError } from '../../src/cborrpc/errors.js'
import { Framer } from '../../src/cborrpc/framer.js'

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'))
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

const GOLDEN = 'd8185825a346706172616d7381a042696404466d6574686f644f6c6973745f776f726b5f7370656373'

function pushAll(framer: Framer, chunks: Uint8Array[]): { frames: string[]; error?: FramingError } {
  const frames: string[] = []
  for (const chunk of chunks) {
    const out = framer.push(chunk)
    frames.push(...out.frames.map(toHex))
    if (out.error) return { frames, error: out.error }
  }
  return { frames }
}

function problemOf(data: string, limits: { maxBytes?: number; maxDepth?: number } = {}): string | undefined {
  return new Framer(limits).push(hex(data)).error?.problem
}

describe('Framer', () => {
  const items = [
    GOLDEN,
    '00',
    '9f 01 5f 41 01 42 02 03 ff bf 61 61 01 ff 7f 61 78 ff ff', // indefinite array, bytes, map, text
    'd8 80 d8 80 80', // nested tags
    'a2 01 82 f5 f6 02 fb 3ff8000000000000', // map with array and float
    '5f ff', // empty indefinite byte string
    'f8 20', // two-byte simple value
  ].map((item) => item.replace(/\s+/g, ''))
  const stream = hex(items.join(''))

  it('finds every item when the stream arrives whole', () => {
    expect(pushAll(new Framer(), [stream])).toEqual({ frames: items })
  })

  it('finds every item when the stream arrives one byte at a time', () => {
    const chunks = [...stream].map((byte) => Uint8Array.of(byte))
    const framer = new Framer()
    expect(pushAll(framer, chunks)).toEqual({ frames: items })
    expect(framer.pendingBytes).toBe(0)
  })

  it('waits for the rest of a split item', () => {
    const framer = new Framer()
    const golden = hex(GOLDEN)
    expect(framer.push(golden.subarray(0, 10)).frames).toEqual([])
    expect(framer.pendingBytes).toBe(10)
    expect(framer.push(golden.subarray(10)).frames.map(toHex)).toEqual([GOLDEN])
  })

  it('refuses a 1 GiB byte string from its header alone', () => {
    const framer = new Framer()
    const { frames, error } = framer.push(hex('5a 40000000'))
    expect(frames).toEqual([])
    expect(error).toBeInstanceOf(FramingError)
    expect(error?.problem).toBe('too-large')
    expect(framer.pendingBytes).toBe(0)
    expect(problemOf('5b 0000000100000000')).toBe('too-large')
    expect(problemOf('d818 5a 40000000')).toBe('too-large')
  })

  it('refuses impossible element counts before the elements arrive', () => {
    expect(problemOf('9a 10000000', { maxBytes: 1000 })).toBe('too-large')
    expect(problemOf('ba 00001000', { maxBytes: 1000 })).toBe('too-large')
  })

  it('never holds more unparsed bytes than the limit', () => {
    const framer = new Framer({ maxBytes: 100 })
    let error: FramingError | undefined
    for (let i = 0; i < 300 && !error; i++) {
      error = framer.push(hex(i === 0 ? '9f' : '00')).error
      expect(framer.pendingBytes).toBeLessThanOrEqual(100)
    }
    expect(error?.problem).toBe('too-large')
  })

  it('accepts an item of exactly the limit', () => {
    const item = hex('49 000102030405060708') // 10 bytes
    expect(new Framer({ maxBytes: 10 }).push(item).frames.map(toHex)).toEqual([toHex(item)])
    expect(new Framer({ maxBytes: 9 }).push(item).error?.problem).toBe('too-large')
  })

  it('refuses nesting past the depth limit without recursing', () => {
    const deep = new Uint8Array(100_001).fill(0x81)
    deep[100_000] = 0x00
    const { error } = new Framer().push(deep)
    expect(error?.problem).toBe('too-deep')
    expect(problemOf('81'.repeat(256) + '00', { maxDepth: 256 })).toBeUndefined()
    expect(problemOf('81'.repeat(257) + '00', { maxDepth: 256 })).toBe('too-deep')
    expect(problemOf('c1'.repeat(300) + '00')).toBe('too-deep')
  })

  it('refuses malformed headers', () => {
    for (const bad of ['1c', '3d', '5e', '7c', '9d', 'be', 'dc', 'fc', 'fd', 'fe']) expect(problemOf(bad)).toBe('malformed')
    expect(problemOf('ff')).toBe('malformed') // break outside an indefinite item
    expect(problemOf('82 01 ff')).toBe('malformed') // break inside a definite array
    expect(problemOf('bf 01 ff')).toBe('malformed') // indefinite map ending after a key
    expect(problemOf('5f 61 61 ff')).toBe('malformed') // text chunk in a byte string
    expect(problemOf('5f 5f ff ff')).toBe('malformed') // nested indefinite chunk
    expect(problemOf('1f')).toBe('malformed') // indefinite integer
    expect(problemOf('df')).toBe('malformed') // indefinite tag
    expect(problemOf('f8 10')).toBe('malformed') // two-byte simple value below 32
  })

  it('returns the items before a framing error, then stays broken', () => {
    const framer = new Framer()
    const { frames, error } = framer.push(hex('01 02 ff 03'))
    expect(frames.map(toHex)).toEqual(['01', '02'])
    expect(error?.problem).toBe('malformed')
    expect(framer.push(hex('04'))).toEqual({ frames: [], error })
  })

  it('keeps working after very large items shrink back', () => {
    const framer = new Framer()
    const big = new Uint8Array(200_005)
    big.set(hex('5a 00030d40'))
    expect(framer.push(big).frames).toHaveLength(1)
    expect(framer.push(hex('0102')).frames.map(toHex)).toEqual(['01', '02'])
  })
})
