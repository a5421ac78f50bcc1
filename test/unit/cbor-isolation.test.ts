import { Decoder, Encoder, Tag, decode, encode } from 'cbor-x'
import { describe, expect, it } from 'vitest'
import * as coordinateTs from '../../src/index.js'

// Importing coordinate-ts must not change how cbor-x behaves for anyone else in the process:
// our tags (37 UUID, 128 tuple) are handled by our own encoder and decoder, not registered
// with cbor-x.

const UUID_BYTES = Uint8Array.from({ length: 16 }, (_, i) => i)
const taggedUuid = Buffer.concat([Buffer.from([0xd8, 37, 0x50]), UUID_BYTES])
const taggedTuple = Buffer.from([0xd8, 0x80, 0x82, 0x01, 0x02])

describe('cbor-x after importing coordinate-ts', () => {
  it('decodes tags 37 and 128 as plain cbor-x Tags, with the default and with a new Decoder', () => {
    expect(typeof coordinateTs.openCoordinate).toBe('function')
    for (const read of [decode, (bytes: Uint8Array) => new Decoder().decode(bytes)]) {
      const uuid: unknown = read(taggedUuid)
      expect(uuid).toBeInstanceOf(Tag)
      expect((uuid as Tag).tag).toBe(37)
      expect(new Uint8Array((uuid as Tag).value as Uint8Array)).toEqual(UUID_BYTES)
      const tuple: unknown = read(taggedTuple)
      expect(tuple).toBeInstanceOf(Tag)
      expect(tuple).toMatchObject({ tag: 128, value: [1, 2] })
    }
  })

  it('does not write our value classes with our tags', () => {
    const uuid = new coordinateTs.Uuid(UUID_BYTES)
    const tuple = coordinateTs.Tuple.of(1, 2)
    for (const write of [encode, (value: unknown) => new Encoder().encode(value)]) {
      expect(Buffer.from(write(uuid)).subarray(0, 2)).not.toEqual(Buffer.from([0xd8, 37]))
      expect(Buffer.from(write(tuple)).subarray(0, 2)).not.toEqual(Buffer.from([0xd8, 0x80]))
    }
  })

  it('while our own codec still reads and writes both tags', async () => {
    const { decodeData, encodeData } = await import('../../src/coordinate/cbor-data.js')
    expect(decodeData(taggedUuid)).toEqual(new coordinateTs.Uuid(UUID_BYTES))
    expect(decodeData(taggedTuple)).toEqual(coordinateTs.Tuple.of(1, 2))
    // Hex, since cbor-x caches a view on the buffers it has decoded.
    expect(Buffer.from(encodeData(coordinateTs.Tuple.of(1, 2))).toString('hex')).toBe(taggedTuple.toString('hex'))
    expect(Buffer.from(encodeData(new coordinateTs.Uuid(UUID_BYTES))).toString('hex')).toBe(taggedUuid.toString('hex'))
  })
})
