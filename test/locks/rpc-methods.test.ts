import { expect, it } from 'vitest'
import { SECOND } from '../../src/coordinate/clock.js'
import { Tuple } from '../../src/coordinate/data.js'
import { lockMethods } from '../../src/jobserver/locks.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

const { coordinate, clock } = await openTestCoordinate()
const methods = lockMethods(coordinate.locks())
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'))
const call = (name: string, ...params: unknown[]): Promise<unknown> => methods[name]!.call(params, { connectionId: 1 })

it('declares go-coordinate parameter counts', () => {
  expect(Object.fromEntries(Object.entries(methods).map(([name, entry]) => [name, entry.arity]))).toEqual({
    lock: 3,
    locksome: 3,
    renew: 3,
    readlock: 1,
    unlock: 2,
    delete_namespace: 1,
  })
})

it('reads byte-string locker ids, tuples of paths and timeouts in seconds', async () => {
  const path = Tuple.of(bytes('rpc'), bytes('a'))
  expect(await call('lock', bytes('me'), 2.5, Tuple.of(path))).toEqual([true, null])
  // The id came as bytes and is stored as text; the path comes back as a plain list.
  expect(await call('readlock', [[bytes('rpc'), bytes('a')]])).toEqual(['me'])
  clock.advance(2.5 * SECOND)
  expect(await call('renew', 'me', null, [path])).toEqual([true, null])
  clock.advance(60 * SECOND + 1)
  expect(await call('readlock', [path])).toEqual([null])
  expect(await call('locksome', 'me', 0, [path, path])).toEqual([[[bytes('rpc'), bytes('a')], null], null])
  expect(await call('delete_namespace', bytes('rpc'))).toBe(0)
  expect(await call('unlock', 'me', [path])).toEqual([false, '[rpc a] is not held'])
})

it('refuses what it cannot decode', async () => {
  await expect(call('lock', 'me', 0, 'not a list')).rejects.toThrow(/cannot decode key paths/)
  await expect(call('lock', 'me', 0, ['not a path'])).rejects.toThrow(/cannot decode key paths/)
  await expect(call('lock', 5, 0, [['p']])).rejects.toThrow(/locker id must be a string/)
  await expect(call('lock', new Uint8Array([0xff]), 0, [['p']])).rejects.toThrow(/UTF-8/)
  await expect(call('lock', 'me', -1, [['p']])).rejects.toThrow(/timeout/)
  await expect(call('lock', 'me', 'soon', [['p']])).rejects.toThrow(/timeout/)
})
