import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../../src/coordinate/backoff.js'
import { copyData } from '../../src/cache/data-copy.js'
import { HandleSlot } from '../../src/cache/handle-slot.js'
import { KeyMutex } from '../../src/cache/key-mutex.js'
import { SnapshotSlot } from '../../src/cache/snapshot-slot.js'
import { TokenBucket } from '../../src/cache/token-bucket.js'
import { canonicalKey, canonicalKeyBytes } from '../../src/cache/unit-key.js'
import { FakeClock, GoneError, NoSuchWorkUnitError, Tuple, Uuid } from '../../src/coordinate/index.js'
import { deferred } from './support/counting-backend.js'

describe('TokenBucket', () => {
  it('hands out the burst at once, then one token per 1/rate seconds, and waits in between', async () => {
    let now = 0
    const waits: number[] = []
    const bucket = new TokenBucket(10, 3, () => now, async (ms) => {
      waits.push(ms)
      now += ms
    })
    const signal = new AbortController().signal
    for (let i = 0; i < 3; i++) expect(await bucket.take(signal)).toBe(true)
    expect(waits).toEqual([])
    expect(await bucket.take(signal)).toBe(true)
    expect(waits).toHaveLength(1)
    expect(waits[0]).toBeCloseTo(100)
    now += 250
    expect(bucket.available).toBeCloseTo(2.5)
  })

  it('gives up without a token when aborted', async () => {
    const controller = new AbortController()
    const bucket = new TokenBucket(1, 1, () => 0, async () => controller.abort())
    expect(await bucket.take(controller.signal)).toBe(true)
    expect(await bucket.take(controller.signal)).toBe(false)
  })

  it('really waits in real time and can be aborted while waiting', async () => {
    const controller = new AbortController()
    const bucket = new TokenBucket(0.001, 1)
    expect(await bucket.take(controller.signal)).toBe(true)
    const waiting = bucket.take(controller.signal)
    controller.abort()
    expect(await waiting).toBe(false)
  })
})

describe('backoffDelay', () => {
  it('doubles per failure from the base, caps, and jitters within the upper half', () => {
    expect(backoffDelay(0, 1000, 60_000)).toBe(0)
    expect(backoffDelay(1, 1000, 60_000, () => 0)).toBe(500)
    expect(backoffDelay(1, 1000, 60_000, () => 1)).toBe(1000)
    expect(backoffDelay(3, 1000, 60_000, () => 1)).toBe(4000)
    expect(backoffDelay(40, 1000, 60_000, () => 1)).toBe(60_000)
    expect(backoffDelay(40, 1000, 60_000, () => 0)).toBe(30_000)
    for (let failures = 1; failures < 12; failures++) {
      const delay = backoffDelay(failures, 1000, 300_000)
      const ceiling = Math.min(300_000, 1000 * 2 ** (failures - 1))
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2)
      expect(delay).toBeLessThanOrEqual(ceiling)
    }
  })
})

describe('KeyMutex', () => {
  it('runs calls on one key one at a time, in order, and keys apart independently', async () => {
    const mutex = new KeyMutex()
    const order: string[] = []
    const gate = deferred()
    const first = mutex.run('a', async () => {
      order.push('a1 start')
      await gate.promise
      order.push('a1 end')
    })
    const second = mutex.run('a', async () => {
      order.push('a2')
    })
    const other = mutex.run('b', async () => {
      order.push('b')
    })
    await other
    expect(order).toEqual(['a1 start', 'b'])
    expect(mutex.size).toBe(1)
    gate.resolve()
    await Promise.all([first, second])
    expect(order).toEqual(['a1 start', 'b', 'a1 end', 'a2'])
  })

  it('passes a rejection to its caller only and prunes drained keys', async () => {
    const mutex = new KeyMutex()
    const failed = mutex.run('k', async () => {
      throw new Error('boom')
    })
    const next = mutex.run('k', async () => 42)
    await expect(failed).rejects.toThrow('boom')
    expect(await next).toBe(42)
    expect(mutex.size).toBe(0)
  })
})

describe('SnapshotSlot', () => {
  const snap = (version: number, tag = `v${version}`) => ({ version, tag })

  it('serves a snapshot only in its generation and scope and while young enough', () => {
    const slot = new SnapshotSlot<ReturnType<typeof snap>>()
    slot.apply(slot.ticket(1, 0, 0), snap(1), 2, 0, 0, 1000)
    expect(slot.valid(0, 0, 1000)?.tag).toBe('v1')
    expect(slot.valid(1, 0, 1000)).toBeUndefined()
    expect(slot.valid(0, 1, 1000)).toBeUndefined()
    expect(slot.valid(0, 0, 1001)).toBeUndefined()
  })

  it('turns away a read that began before an invalidation (a local write)', () => {
    const slot = new SnapshotSlot<ReturnType<typeof snap>>()
    const ticket = slot.ticket(1, 0, 0)
    slot.invalidate()
    expect(slot.apply(ticket, snap(5), 2, 0, 0, 0)).toBe(false)
    expect(slot.value).toBeUndefined()
  })

  it('turns away a read that began before a generation or scope change', () => {
    const slot = new SnapshotSlot<ReturnType<typeof snap>>()
    expect(slot.apply(slot.ticket(1, 0, 0), snap(1), 2, 1, 0, 0)).toBe(false)
    expect(slot.apply(slot.ticket(3, 0, 0), snap(1), 4, 0, 1, 0)).toBe(false)
  })

  it('between overlapping reads keeps the higher version', () => {
    const slot = new SnapshotSlot<ReturnType<typeof snap>>()
    const older = slot.ticket(1, 0, 0)
    const newer = slot.ticket(2, 0, 0)
    expect(slot.apply(newer, snap(7), 3, 0, 0, 0)).toBe(true)
    expect(slot.apply(older, snap(6), 4, 0, 0, 0)).toBe(false)
    expect(slot.value?.version).toBe(7)
  })

  it('takes a lower version from a read that began after the held one completed (the row was re-created)', () => {
    const slot = new SnapshotSlot<ReturnType<typeof snap>>()
    slot.apply(slot.ticket(1, 0, 0), snap(9, 'old row'), 2, 0, 0, 0)
    expect(slot.apply(slot.ticket(3, 0, 0), snap(1, 'new row'), 4, 0, 0, 0)).toBe(true)
    expect(slot.value?.tag).toBe('new row')
  })

  it('a write-through replacement beats a slower read of the row before it', () => {
    const slot = new SnapshotSlot<ReturnType<typeof snap>>()
    slot.apply(slot.ticket(1, 0, 0), snap(3), 2, 0, 0, 0)
    const racing = slot.ticket(3, 0, 0)
    slot.replace(snap(4, 'written'), 4, 0, 0, 0)
    expect(slot.apply(racing, snap(3), 5, 0, 0, 0)).toBe(false)
    expect(slot.value?.tag).toBe('written')
  })
})

describe('canonicalKey', () => {
  it('files a text key and its UTF-8 bytes under the same key', () => {
    expect(canonicalKey('abc')).toBe('abc')
    expect(canonicalKey('\u00e9')).toBe(canonicalKey(Uint8Array.of(0xc3, 0xa9)))
    expect(canonicalKey(Uint8Array.of(0x61, 0x62))).toBe('ab')
    expect(canonicalKey(Uint8Array.of(0xff, 0x00))).not.toBe(canonicalKey('\u00ff\u0000'))
    expect(Array.from(canonicalKeyBytes(canonicalKey(Uint8Array.of(0xff, 0x80, 0))!))).toEqual([0xff, 0x80, 0])
    expect(canonicalKey(42 as unknown as string)).toBeUndefined()
  })

  it('sees a key through its view (a subarray)', () => {
    const whole = Uint8Array.of(1, 2, 3, 4)
    expect(canonicalKey(whole.subarray(1, 3))).toBe(canonicalKey(Uint8Array.of(2, 3)))
  })
})

describe('copyData', () => {
  it('copies deeply, keeping bytes, tuples, UUIDs, maps and bigints', () => {
    const original = {
      bytes: Uint8Array.of(1, 2),
      tuple: Tuple.of('a', [1]),
      uuid: Uuid.parse('12345678-9abc-def0-1234-56789abcdef0'),
      map: new Map([[1, { x: 1 }]]),
      list: [{ y: 2 }],
      big: 2n ** 64n,
      nested: { z: null },
    }
    const copy = copyData(original)
    expect(copy).toStrictEqual(original)
    ;(copy.list as { y: number }[])[0]!.y = 3
    ;(copy.bytes as Uint8Array)[0] = 9
    ;(copy.tuple as Tuple).items.push('b')
    expect(original.list[0]!.y).toBe(2)
    expect(original.bytes[0]).toBe(1)
    expect(original.tuple.items).toHaveLength(2)
  })
})

describe('HandleSlot', () => {
  it('looks the name up once on first use, and again once on GoneError', async () => {
    const clock = new FakeClock()
    let lookups = 0
    const slot = new HandleSlot(async () => ({ row: ++lookups }), clock, Number.POSITIVE_INFINITY)
    expect(await slot.call(async (h) => h.row)).toBe(1)
    const seen: number[] = []
    const result = await slot.call(async (h) => {
      seen.push(h.row)
      if (h.row === 1) throw new GoneError()
      return 'followed'
    })
    expect(result).toBe('followed')
    expect(seen).toEqual([1, 2])
  })

  it('throws the original GoneError when the name cannot be found again', async () => {
    let first = true
    const slot = new HandleSlot(
      async () => {
        if (first) {
          first = false
          return 'row'
        }
        throw new NoSuchWorkUnitError('u')
      },
      new FakeClock(),
      Number.POSITIVE_INFINITY,
    )
    const gone = new GoneError('Work unit')
    await expect(slot.call(async () => Promise.reject(gone))).rejects.toBe(gone)
  })

  it('looks the name up again once the handle is older than its maximum age', async () => {
    const clock = new FakeClock()
    let lookups = 0
    const slot = new HandleSlot(async () => ++lookups, clock, 1000)
    await slot.get()
    await slot.get()
    expect(lookups).toBe(1)
    clock.advance(1001)
    await slot.get()
    expect(lookups).toBe(2)
  })

  it('shares one lookup among concurrent callers', async () => {
    let lookups = 0
    const gate = deferred()
    const slot = new HandleSlot(
      async () => {
        lookups++
        await gate.promise
        return 'h'
      },
      new FakeClock(),
      Number.POSITIVE_INFINITY,
    )
    const all = Promise.all([slot.get(), slot.get(), slot.get()])
    gate.resolve()
    expect(await all).toEqual(['h', 'h', 'h'])
    expect(lookups).toBe(1)
  })
})
