import { describe, expect, it } from 'vitest'
import { type DataValue, Tuple, Uuid } from '../../src/coordinate/data.js'
import { InvalidInputError } from '../../src/coordinate/errors.js'
import {
  type OutputUnit,
  parseOutputItem,
  parseOutputItemStrict,
  parseWorkUnitOutput,
} from '../../src/coordinate/work-unit-output.js'

const NOW = new Date(1_700_000_000_000)
const utf8 = new TextEncoder()

function unit(key: string | Uint8Array, data = {}, priority = 0, notBefore: Date | null = null): OutputUnit {
  return { key: typeof key === 'string' ? utf8.encode(key) : key, data, priority, notBefore }
}

describe('parseWorkUnitOutput', () => {
  it('reads a list of keys as units with empty data', () => {
    expect(parseWorkUnitOutput(['first', 'second'], NOW)).toEqual([unit('first'), unit('second')])
  })

  it('reads a tuple like a list', () => {
    expect(parseWorkUnitOutput(Tuple.of('first', 'second'), NOW)).toEqual([unit('first'), unit('second')])
  })

  it('reads a dict of key → data', () => {
    expect(parseWorkUnitOutput({ a: { k: 'v' }, b: {} }, NOW)).toEqual([unit('a', { k: 'v' }), unit('b')])
  })

  it('reads a Map of text or byte keys → data', () => {
    const output = new Map<DataValue, DataValue>([
      ['a', { k: 'v' }],
      [new Uint8Array([1, 2, 3, 4]), new Map<DataValue, DataValue>([[utf8.encode('x'), 1]])],
    ])
    expect(parseWorkUnitOutput(output, NOW)).toEqual([unit('a', { k: 'v' }), unit(new Uint8Array([1, 2, 3, 4]), { x: 1 })])
  })

  it('reads nothing from a dict whose values are not all dicts', () => {
    expect(parseWorkUnitOutput({ a: { k: 'v' }, b: 'not a dict' }, NOW)).toEqual([])
    expect(parseWorkUnitOutput(new Map<DataValue, DataValue>([[1, {}]]), NOW)).toEqual([])
  })

  it('reads a list of [key, data, meta?, priority?] items, skipping the invalid ones', () => {
    const output: DataValue = [
      ['a'],
      ['b', { k: 'v' }],
      ['c', {}, { priority: 10 }],
      ['d', {}, { delay: 90 }],
      ['e', {}, {}, 20.0],
    ]
    expect(parseWorkUnitOutput(output, NOW)).toEqual([
      unit('b', { k: 'v' }),
      unit('c', {}, 10),
      unit('d', {}, 0, new Date(NOW.getTime() + 90_000)),
      unit('e', {}, 20),
    ])
  })

  it('lets a later item for the same key replace an earlier one', () => {
    const output = ['key', Tuple.of('key', { data: 'x' }, { priority: 10 })]
    expect(parseWorkUnitOutput(output, NOW)).toEqual([unit('key', { data: 'x' }, 10)])
  })

  it('keeps the first position of a replaced key', () => {
    const output = ['a', 'b', ['a', { n: 2 }]]
    expect(parseWorkUnitOutput(output, NOW)).toEqual([unit('a', { n: 2 }), unit('b')])
  })

  it('treats text and byte keys with the same UTF-8 as the same key', () => {
    expect(parseWorkUnitOutput(['k', [utf8.encode('k'), { n: 1 }]], NOW)).toEqual([unit('k', { n: 1 })])
  })

  it('accepts byte keys', () => {
    const key = new Uint8Array([1, 2, 3, 4])
    expect(parseWorkUnitOutput([key], NOW)).toEqual([unit(key)])
    expect(parseWorkUnitOutput([Tuple.of(key, { x: 1 })], NOW)).toEqual([unit(key, { x: 1 })])
  })

  it('reads nothing from anything else', () => {
    for (const output of [undefined, null, 'key', 5, true, new Uint8Array([1]), Uuid.parse('00000000-0000-0000-0000-000000000001')]) {
      expect(parseWorkUnitOutput(output, NOW)).toEqual([])
    }
    expect(parseWorkUnitOutput([], NOW)).toEqual([])
    expect(parseWorkUnitOutput({}, NOW)).toEqual([])
  })
})

describe('parseOutputItem', () => {
  it('returns null for malformed items instead of throwing', () => {
    for (const item of [null, undefined, 5, {}, ['a'], [5, {}], ['a', 'data'], ['a', {}, 'meta'], ['a', {}, {}, 'high']]) {
      expect(parseOutputItem(item, NOW)).toBeNull()
    }
  })

  it('parses the same items as the strict form', () => {
    expect(parseOutputItem(['a', {}, { priority: 3 }], NOW)).toEqual(unit('a', {}, 3))
  })
})

describe('parseOutputItemStrict', () => {
  it('takes a bare key', () => {
    expect(parseOutputItemStrict('k', NOW)).toEqual(unit('k'))
    expect(parseOutputItemStrict(new Uint8Array([0, 255]), NOW)).toEqual(unit(new Uint8Array([0, 255])))
  })

  it('reads null data as empty and converts Map data with byte keys', () => {
    expect(parseOutputItemStrict(['k', null], NOW)).toEqual(unit('k'))
    const data = new Map<DataValue, DataValue>([[utf8.encode('a'), 1], ['b', 2]])
    expect(parseOutputItemStrict(['k', data], NOW)).toEqual(unit('k', { a: 1, b: 2 }))
  })

  it('keeps __proto__ as an ordinary data key when converting a Map', () => {
    const data = new Map<DataValue, DataValue>([['__proto__', { polluted: true }]])
    const parsed = parseOutputItemStrict(['k', data], NOW)
    expect(Object.keys(parsed.data)).toEqual(['__proto__'])
    expect(Object.getPrototypeOf(parsed.data)).toBe(Object.prototype)
  })

  it('ignores a null meta and null priority', () => {
    expect(parseOutputItemStrict(['k', {}, null, null], NOW)).toEqual(unit('k'))
  })

  it('lets the fourth element override the meta priority, integer or not', () => {
    expect(parseOutputItemStrict(['k', {}, { priority: 10 }, 20], NOW)).toEqual(unit('k', {}, 20))
    expect(parseOutputItemStrict(['k', {}, { priority: 10 }, 2.5], NOW)).toEqual(unit('k', {}, 2.5))
  })

  it('sets notBefore only for a positive delay', () => {
    expect(parseOutputItemStrict(['k', {}, { delay: 1.5 }], NOW).notBefore).toEqual(new Date(NOW.getTime() + 1500))
    expect(parseOutputItemStrict(['k', {}, { delay: 0 }], NOW).notBefore).toBeNull()
    expect(parseOutputItemStrict(['k', {}, { delay: -10 }], NOW).notBefore).toBeNull()
  })

  it('ignores elements past the fourth and unknown meta keys', () => {
    expect(parseOutputItemStrict(['k', {}, { other: 1 }, 1, 'extra'], NOW)).toEqual(unit('k', {}, 1))
  })

  it('throws InvalidInputError with a clear message for malformed items', () => {
    const cases: [DataValue | undefined, RegExp][] = [
      [5, /key or a \[key, data, meta\?, priority\?\] list, not a number/],
      [['k'], /at least a key and data/],
      [[{}, {}], /key must be a string or bytes/],
      [['k', [1]], /work unit "k": data must be a dict, not a list/],
      [['k', new Map<DataValue, DataValue>([[1, 2]])], /data must be a dict, not Map/],
      [['k', {}, 7], /meta must be a dict/],
      [['k', {}, { priority: 'high' }], /meta priority must be a finite number, not a string/],
      [['k', {}, { delay: Number.NaN }], /meta delay must be a finite number, not NaN/],
      [['k', {}, {}, '20'], /work unit "k": priority must be a finite number/],
      [['k', {}, {}, 2n ** 64n], /priority must be a finite number, not a bigint/],
    ]
    for (const [item, message] of cases) {
      expect(() => parseOutputItemStrict(item, NOW)).toThrow(InvalidInputError)
      expect(() => parseOutputItemStrict(item, NOW)).toThrow(message)
    }
  })
})
