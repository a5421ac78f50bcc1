import { describe, expect, it } from 'vitest'
import { measureItem } from '../../src/cborrpc/cbor-scan.js'
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/cborrpc/codec.js'
import { MessageError, UnknownTagError, UnsendableValueError } from '../../src/cborrpc/errors.js'
import { Tuple, Uuid } from '../../src/coordinate/data.js'
import { envelope, requestPayload } from './python-like-client.js'

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'))
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const text = (s: string): string => Buffer.from(s).toString('hex')
const key = (s: string): string => (0x40 + s.length).toString(16) + text(s) // short byte string

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

// Tags anywhere in a message: the envelope's own, then those inside its payload.
function tagsIn(message: Uint8Array): number[] {
  const outer = measureItem(message, 0, message.length, 256)
  expect(outer.length).toBe(message.length)
  const headerSize = message[2] === 0x58 ? 4 : message[2] === 0x59 ? 5 : message[2] === 0x5a ? 7 : 3
  return [...outer.tags, ...measureItem(message, headerSize, message.length, 256).tags]
}

describe('decodeRequest', () => {
  it('decodes the request captured from the Python client', () => {
    const golden = hex('d8185825a346706172616d7381a042696404466d6574686f644f6c6973745f776f726b5f7370656373')
    expect(decodeRequest(golden)).toEqual({ id: 4, method: 'list_work_specs', params: [{}] })
  })

  it("decodes go-coordinate's README example", () => {
    const example = hex(`d818 5825 a3 ${key('id')} 01 ${key('method')} 4f ${text('list_work_specs')} ${key('params')} 81 a0`)
    expect(decodeRequest(example)).toEqual({ id: 1, method: 'list_work_specs', params: [{}] })
  })

  it('accepts a bare map, text keys and a text method name', () => {
    const bare = hex(`a3 62${text('id')} 09 66${text('method')} 64${text('echo')} 66${text('params')} 80`)
    expect(decodeRequest(bare)).toEqual({ id: 9, method: 'echo', params: [] })
  })

  it('keeps tuples, UUIDs, and the byte/text distinction in params', () => {
    const uuid = Uuid.parse('12345678-1234-1234-1234-123456789abc')
    const request = decodeRequest(
      envelope(requestPayload(2, 'add_work_units', [Buffer.from('spec'), [Tuple.of('k', {}), uuid, 'text']])),
    )
    expect(request.method).toBe('add_work_units')
    const [name, units] = request.params as [Uint8Array, [Tuple, Uuid, string]]
    expect(name).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(name).toString()).toBe('spec')
    expect(units[0]).toEqual(Tuple.of('k', {}))
    expect(units[0]).toBeInstanceOf(Tuple)
    expect(units[1]).toEqual(uuid)
    expect(units[2]).toBe('text')
  })

  it('accepts a tuple as params and missing params as none', () => {
    expect(decodeRequest(hex(`a3 ${key('id')} 01 ${key('method')} 41 78 ${key('params')} d880 82 01 02`)).params).toEqual([1, 2])
    expect(decodeRequest(hex(`a2 ${key('id')} 01 ${key('method')} 41 78`)).params).toEqual([])
  })

  it('refuses an unknown tag with the id still attached', () => {
    const error = thrown(() => decodeRequest(hex(`a3 ${key('id')} 05 ${key('method')} 41 78 ${key('params')} 81 d863 01`)))
    expect(error).toBeInstanceOf(UnknownTagError)
    expect(error).toMatchObject({ id: 5, tag: 99, message: 'unsupported CBOR tag 99 in params' })
  })

  it("refuses cbor-x's shared-reference tags, which could build a cycle", () => {
    const error = thrown(() => decodeRequest(hex(`a3 ${key('id')} 05 ${key('method')} 41 78 ${key('params')} d81c 81 d81d 00`)))
    expect(error).toMatchObject({ id: 5, tag: 28 })
  })

  it('answers without an id when the id itself cannot be read', () => {
    expect(thrown(() => decodeRequest(hex(`a2 ${key('id')} d863 01 ${key('method')} 41 78`)))).toMatchObject({ id: null, tag: 99 })
    expect(thrown(() => decodeRequest(hex('01')))).toMatchObject({ id: null, message: 'a message must be a map, not CBOR major type 0' })
    expect(thrown(() => decodeRequest(hex(`a1 ${key('method')} 41 78`)))).toMatchObject({ id: null, message: 'the message has no id' })
  })

  it('names what is wrong with a request whose id was read', () => {
    const noMethod = thrown(() => decodeRequest(hex(`a2 ${key('id')} 03 ${key('params')} 80`)))
    expect(noMethod).toBeInstanceOf(MessageError)
    expect(noMethod).toMatchObject({ id: 3, message: 'the request has no method' })
    const mapParams = thrown(() => decodeRequest(hex(`a3 ${key('id')} 03 ${key('method')} 41 78 ${key('params')} a0`)))
    expect(mapParams).toMatchObject({ id: 3, message: 'params must be an array, not Object' })
    const intMethod = thrown(() => decodeRequest(hex(`a3 ${key('id')} 03 ${key('method')} 07 ${key('params')} 80`)))
    expect(intMethod).toMatchObject({ id: 3, message: 'the method must be a string, not a number' })
    const badUtf8 = thrown(() => decodeRequest(hex(`a3 ${key('id')} 03 ${key('method')} 41 ff ${key('params')} 80`)))
    expect(badUtf8).toMatchObject({ id: 3, message: 'the method is not valid UTF-8' })
    const deep = thrown(() => decodeRequest(hex(`a3 ${key('id')} 03 ${key('method')} 41 78 ${key('params')} ${'81'.repeat(300)}00`)))
    expect(deep).toMatchObject({ id: 3, message: 'CBOR item nested more than 255 deep' })
  })

  it('refuses broken envelopes', () => {
    const payload = requestPayload(1, 'x', [])
    const tooShort = envelope(payload).subarray(0, 10)
    expect(thrown(() => decodeRequest(tooShort))).toBeInstanceOf(MessageError)
    const trailing = Buffer.concat([envelope(payload), Buffer.from([0])])
    expect(thrown(() => decodeRequest(trailing))).toMatchObject({ message: 'the tag-24 byte string does not fill the message' })
    expect(thrown(() => decodeRequest(hex('d818 01')))).toMatchObject({ message: 'tag 24 must wrap a definite-length byte string' })
    expect(decodeRequest(envelope(envelope(payload)))).toEqual({ id: 1, method: 'x', params: [] })
  })
})

describe('encodeResponse', () => {
  it('always writes result, even when null, with text keys in tag 24', () => {
    expect(toHex(encodeResponse({ id: 1, result: null }))).toBe(`d818 4d a2 62${text('id')} 01 66${text('result')} f6`.replace(/\s+/g, ''))
  })

  it('writes errors as {id, error: {message}}', () => {
    const message = encodeResponse({ id: 2, error: { message: 'no such method' } })
    expect(decodeResponse(message)).toEqual({ id: 2, error: { message: 'no such method' } })
  })

  it('writes only tags 24, 37 and 128', () => {
    const result = {
      pair: Tuple.of(true, null),
      uuid: Uuid.parse('00000000-0000-0000-0000-000000000001'),
      bytes: new Uint8Array([1, 2]),
      map: new Map([[1, Tuple.of()]]),
      big: 2n ** 64n - 1n,
      negative: -(2n ** 63n),
    }
    const message = encodeResponse({ id: 3, result })
    expect(new Set(tagsIn(message))).toEqual(new Set([24, 128, 37]))
    expect(decodeResponse(message)).toEqual({ id: 3, result })
  })

  it('writes integers past 32 bits as integers, not floats', () => {
    const message = encodeResponse({ id: 1, result: [2 ** 40, -(2 ** 40), 1.5] })
    expect(toHex(message)).toContain('1b0000010000000000')
    expect(toHex(message)).toContain('3b000000ffffffffff')
    expect(decodeResponse(message)).toEqual({ id: 1, result: [2 ** 40, -(2 ** 40), 1.5] })
  })

  it('sends undefined as null and refuses what the Python client could not read', () => {
    expect(decodeResponse(encodeResponse({ id: 1, result: [undefined, { a: undefined }] }))).toEqual({ id: 1, result: [null, { a: null }] })
    for (const bad of [new Date(0), new Set([1]), 2n ** 64n, -(2n ** 64n), new Uint16Array(2), () => 1, new (class Thing {})()]) {
      expect(thrown(() => encodeResponse({ id: 1, result: { nested: [bad] } }))).toBeInstanceOf(UnsendableValueError)
    }
    const cyclic: unknown[] = []
    cyclic.push(cyclic)
    expect(thrown(() => encodeResponse({ id: 1, result: cyclic }))).toBeInstanceOf(UnsendableValueError)
  })

  it('keeps a "__proto__" key as an entry', () => {
    const dict = JSON.parse('{"__proto__": 1, "x": 2}') as Record<string, unknown>
    const message = encodeResponse({ id: 1, result: dict })
    expect(toHex(message)).toContain(`69${text('__proto__')}`)
  })
})

describe('decodeResponse', () => {
  it("decodes the Python server's answer to count_work_units", () => {
    const answer = decodeResponse(hex('d81853a24269640746726573756c74d88082a10104f6'))
    expect(answer).toEqual({ id: 7, result: Tuple.of(new Map([[1, 4]]), null) })
    expect((answer as { result: unknown }).result).toBeInstanceOf(Tuple)
  })

  it('round-trips requests', () => {
    const request = { id: 12, method: 'get_work', params: ['w', { lease_time: 300 }] }
    expect(decodeRequest(encodeRequest(request))).toEqual(request)
  })
})
