import { describe, expect, it } from 'vitest'
import { decodeData, encodeData } from '../../src/coordinate/cbor-data.js'
import { Tuple, Uuid } from '../../src/coordinate/data.js'

describe('data codec', () => {
  it('round-trips every kind of value exactly', () => {
    const value = {
      int: 1, float: 1.5, neg: -7, bytes: new Uint8Array([0, 255]), text: 'fü',
      tuple: Tuple.of('x', 2, Tuple.of()), uuid: Uuid.parse('12345678-1234-1234-1234-123456789abc'),
      empty: [], big: 2n ** 63n, nested: { x: null, y: [true, false] }, intKeys: new Map([[1, 'one']]),
    }
    const back = decodeData(encodeData(value))
    expect(back).toEqual(value)
    const dict = back as Record<string, unknown>
    expect(dict.bytes).toBeInstanceOf(Uint8Array)
    expect(dict.tuple).toBeInstanceOf(Tuple)
    expect(dict.uuid).toBeInstanceOf(Uuid)
    expect(Number.isInteger(dict.int)).toBe(true)
  })

  it('writes tuples as tag 128 and UUIDs as tag 37', () => {
    expect(Buffer.from(encodeData(Tuple.of())).toString('hex')).toBe('d88080')
    const uuid = encodeData(Uuid.parse('00000000-0000-0000-0000-000000000001'))
    expect(Buffer.from(uuid).toString('hex')).toBe('d82550' + '00'.repeat(15) + '01')
    expect(Buffer.from(encodeData(1.0)).toString('hex')).toBe('01')
    expect(Buffer.from(encodeData(1.5)).toString('hex')).toBe('fb3ff8000000000000')
  })
})

describe('data codec integers', () => {
  it('keeps integers beyond 32 bits as integers, not floats', () => {
    expect(Buffer.from(encodeData(2 ** 40)).toString('hex')).toBe('1b0000010000000000')
    expect(decodeData(encodeData({ big: 2 ** 40 }))).toEqual({ big: 2 ** 40 })
  })
})
