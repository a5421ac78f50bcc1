import { beforeEach, describe, expect, it } from 'vitest'
import { SECOND } from '../../src/coordinate/clock.js'
import { Tuple } from '../../src/coordinate/data.js'
import { ClosedError, InvalidInputError } from '../../src/coordinate/errors.js'
import { MAX_LOCK_TIMEOUT_MS } from '../../src/coordinate/locks.js'
import { keyUpperBound, lockPathKey } from '../../src/postgres/locks.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

const { coordinate, clock, url } = await openTestCoordinate()
const locks = coordinate.locks()
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'utf8'))

// Locks are global to the store; moving past the longest possible lock makes every test start
// with none held, as go's tests did with a fresh JobServer each.
beforeEach(() => {
  clock.advance(MAX_LOCK_TIMEOUT_MS + SECOND)
})

describe("go-coordinate's locks_test", () => {
  it('locks, reads owners, unlocks (TestBasic)', async () => {
    const foo = ['foo']
    const barbaz = ['bar', 'baz']
    const bar = ['bar']
    expect(await locks.lock('id', 0, [foo, barbaz])).toEqual({ ok: true, message: null })
    expect(await locks.readlock([foo])).toEqual(['id'])
    expect(await locks.readlock([bar])).toEqual([null])
    expect(await locks.readlock([barbaz, foo])).toEqual(['id', 'id'])
    expect(await locks.unlock('id', [foo, barbaz])).toEqual({ ok: true, message: null })
    expect(await locks.readlock([foo, bar, barbaz])).toEqual([null, null, null])
  })

  it('foo held makes foo/bar not lockable (TestConflict)', async () => {
    expect(await locks.lock('id', 0, [['foo']])).toEqual({ ok: true, message: null })
    const result = await locks.lock('id', 0, [['foo', 'bar']])
    expect(result.ok).toBe(false)
    expect(result.message).toBe('[foo bar] is not lockable')
  })

  it('foo/bar held makes foo not lockable (TestConflict2)', async () => {
    expect(await locks.lock('id', 0, [['foo', 'bar']])).toEqual({ ok: true, message: null })
    const result = await locks.lock('id', 0, [['foo']])
    expect(result.ok).toBe(false)
    expect(result.message).toBe('[foo] is not lockable')
  })

  it('locks what it can (TestLocksome)', async () => {
    expect(await locks.lock('id', 0, [['foo']])).toEqual({ ok: true, message: null })
    expect(await locks.locksome('id', 0, [['foo'], ['bar'], ['baz']])).toEqual([null, ['bar'], ['baz']])
    expect(await locks.readlock([['bar'], ['baz']])).toEqual(['id', 'id'])
  })

  it('only the owner unlocks (TestUnlockSanity)', async () => {
    const keys = [['foo'], ['bar']]
    expect(await locks.lock('id', 0, keys)).toEqual({ ok: true, message: null })
    const refused = await locks.unlock('id2', keys)
    expect(refused.ok).toBe(false)
    expect(refused.message).toBe('[foo] is held by id')
    expect(await locks.readlock(keys)).toEqual(['id', 'id'])
    expect(await locks.unlock('id', keys)).toEqual({ ok: true, message: null })
  })

  it('no paths, empty list (TestReadlockNotNil)', async () => {
    expect(await locks.readlock([])).toEqual([])
  })

  it('unlocking what nobody holds fails (TestUnlockNotLocked)', async () => {
    expect(await locks.unlock('id', [['foo']])).toEqual({ ok: false, message: '[foo] is not held' })
  })
})

describe('lock semantics', () => {
  it('is all or nothing', async () => {
    await locks.lock('a', 0, [['x', 'y']])
    const result = await locks.lock('b', 0, [['free'], ['x']])
    expect(result).toEqual({ ok: false, message: '[x] is not lockable' })
    expect(await locks.readlock([['free']])).toEqual([null])
  })

  it('refuses a path already held, even by its owner', async () => {
    await locks.lock('a', 0, [['p']])
    expect((await locks.lock('a', 0, [['p']])).ok).toBe(false)
  })

  it('takes a repeated path once, but not nested paths in one request', async () => {
    expect(await locks.lock('a', 0, [['p'], ['p']])).toEqual({ ok: true, message: null })
    expect(await locks.lock('a', 0, [['q'], ['q', 'r']])).toEqual({ ok: false, message: '[q r] is not lockable' })
    expect(await locks.readlock([['q']])).toEqual([null])
    expect(await locks.locksome('a', 0, [['s'], ['s'], ['s', 't'], ['u']])).toEqual([['s'], null, null, ['u']])
  })

  it('compares labels by deep equality: text is not bytes, a tuple is not a list', async () => {
    expect((await locks.lock('text', 0, [['foo']])).ok).toBe(true)
    expect((await locks.lock('bytes', 0, [[bytes('foo')]])).ok).toBe(true)
    expect(await locks.readlock([['foo'], [bytes('foo')]])).toEqual(['text', 'bytes'])
    expect((await locks.lock('list', 0, [[['a', 1]]])).ok).toBe(true)
    expect((await locks.lock('tuple', 0, [[Tuple.of('a', 1)]])).ok).toBe(true)
    expect(await locks.readlock([[Tuple.of('a', 1)], [['a', 1]]])).toEqual(['tuple', 'list'])
  })

  it('treats deep-equal labels as the same whatever their key order or number type', async () => {
    expect((await locks.lock('o', 0, [[{ a: 1, b: 2 }, 7]])).ok).toBe(true)
    expect(await locks.readlock([[{ b: 2, a: 1 }, 7n]])).toEqual(['o'])
    expect(await locks.readlock([[new Map<string, number>([['b', 2], ['a', 1]]), 7]])).toEqual(['o'])
  })

  it('does not confuse a label with a longer one that starts the same', async () => {
    expect((await locks.lock('a', 0, [['foo']])).ok).toBe(true)
    expect((await locks.lock('b', 0, [['foobar'], ['fo']])).ok).toBe(true)
    expect((await locks.lock('c', 0, [[bytes('foo'), 'x']])).ok).toBe(true)
  })

  it('lets the empty path cover everything', async () => {
    await locks.lock('a', 0, [['p']])
    expect((await locks.lock('root', 0, [[]])).ok).toBe(false)
    await locks.unlock('a', [['p']])
    expect((await locks.lock('root', 0, [[]])).ok).toBe(true)
    expect((await locks.lock('b', 0, [['anything', 'at', 'all']])).ok).toBe(false)
  })

  it('renews only what the owner holds, with go messages', async () => {
    await locks.lock('a', 10_000, [['p'], ['q']])
    expect(await locks.renew('b', 10_000, [['p']])).toEqual({ ok: false, message: '[p] is held by a' })
    expect(await locks.renew('a', 10_000, [['p'], ['nope']])).toEqual({ ok: false, message: '[nope] is held by None' })
    clock.advance(8 * SECOND)
    expect(await locks.renew('a', 10_000, [['p']])).toEqual({ ok: true, message: null })
    clock.advance(8 * SECOND)
    // p was renewed to 18 s, q still ends at 10 s.
    expect(await locks.readlock([['p'], ['q']])).toEqual(['a', null])
  })

  it('deletes a namespace: the top-level label and everything under it', async () => {
    await locks.lock('a', 0, [['ns', 1], ['ns', 2, 3], ['other']])
    await locks.lock('b', 0, [['nsx']])
    expect(await locks.deleteNamespace('ns')).toBe(2)
    expect(await locks.readlock([['ns', 1], ['ns', 2, 3], ['other'], ['nsx']])).toEqual([null, null, 'a', 'b'])
    expect(await locks.deleteNamespace('missing')).toBe(0)
  })

  it('rejects malformed input before touching the database', async () => {
    await expect(locks.lock('a', -1, [['p']])).rejects.toThrow(InvalidInputError)
    await expect(locks.lock('a', 0, ['p' as unknown as string[]])).rejects.toThrow(InvalidInputError)
    await expect(locks.lock(7 as unknown as string, 0, [['p']])).rejects.toThrow(InvalidInputError)
    await expect(locks.lock('a', 0, [['x'.repeat(3000)]])).rejects.toThrow(/at most 2048 bytes/)
  })
})

describe('expiry', () => {
  it('holds a lock until strictly after its deadline', async () => {
    await locks.lock('a', 10 * SECOND, [['p']])
    clock.advance(10 * SECOND)
    expect(await locks.readlock([['p']])).toEqual(['a'])
    expect((await locks.lock('b', 0, [['p', 'child']])).ok).toBe(false)
    clock.advance(1)
    expect(await locks.readlock([['p']])).toEqual([null])
    expect((await locks.lock('b', 0, [['p', 'child']])).ok).toBe(true)
    expect(await locks.unlock('a', [['p']])).toEqual({ ok: false, message: '[p] is not held' })
  })

  it('defaults to 60 seconds', async () => {
    await locks.lock('a', 0, [['p']])
    clock.advance(60 * SECOND)
    expect(await locks.readlock([['p']])).toEqual(['a'])
    clock.advance(1)
    expect(await locks.readlock([['p']])).toEqual([null])
  })

  it('caps timeouts at 1,000,000 seconds', async () => {
    await locks.lock('a', 5 * MAX_LOCK_TIMEOUT_MS, [['p']])
    clock.advance(MAX_LOCK_TIMEOUT_MS)
    expect(await locks.readlock([['p']])).toEqual(['a'])
    clock.advance(1)
    expect(await locks.readlock([['p']])).toEqual([null])
  })

  it('does not let an expired lock block a renew by the new owner', async () => {
    await locks.lock('a', SECOND, [['p']])
    clock.advance(2 * SECOND)
    expect(await locks.renew('a', SECOND, [['p']])).toEqual({ ok: false, message: '[p] is held by None' })
    expect((await locks.lock('b', SECOND, [['p']])).ok).toBe(true)
    expect(await locks.renew('b', SECOND, [['p']])).toEqual({ ok: true, message: null })
  })
})

describe('keys', () => {
  it('make label-wise prefixes byte prefixes', () => {
    const parent = lockPathKey(['a', bytes('b')])
    const child = lockPathKey(['a', bytes('b'), 3])
    expect(child.subarray(0, parent.length).equals(parent)).toBe(true)
    expect(Buffer.compare(child, parent)).toBeGreaterThan(0)
    expect(Buffer.compare(child, keyUpperBound(parent))).toBeLessThan(0)
  })

  it('have an upper bound above every extension', () => {
    expect(keyUpperBound(Buffer.alloc(0))).toEqual(Buffer.from([0xff]))
    expect(keyUpperBound(Buffer.from([0x41, 0xff, 0xff]))).toEqual(Buffer.from([0x42]))
  })
})

describe('a closed coordinate', () => {
  it('refuses lock calls with ClosedError', async () => {
    const other = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
    const closedLocks = other.locks()
    await other.close()
    await expect(closedLocks.lock('a', 0, [['p']])).rejects.toThrow(ClosedError)
    await expect(closedLocks.readlock([['p']])).rejects.toThrow(ClosedError)
  })
})
