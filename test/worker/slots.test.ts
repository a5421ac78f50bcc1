import { describe, expect, it } from 'vitest'
import type { RunningAttempt } from '../../src/worker/running-attempt.js'
import { Slots } from '../../src/worker/slots.js'

// Only the spec name matters to Slots.
const entry = (spec: string): RunningAttempt => ({ unit: { workSpec: spec } }) as RunningAttempt

describe('Slots', () => {
  it('plans claims for the free slots plus prefetch, and tops the queue up only once it is half empty', () => {
    const slots = new Slots(2, new Map(), 4)
    expect(slots.plan(['s'])).toEqual({ count: 6, specs: ['s'] })
    const entries = Array.from({ length: 6 }, () => entry('s'))
    expect(entries.map((e) => slots.admit(e))).toEqual([true, true, false, false, false, false])
    expect(slots.plan(['s'])).toBeUndefined()
    // Four queued: one finished handler starts the next, three queued is still more than half.
    expect(slots.release(entries[0]!)).toEqual([entries[2]])
    expect(slots.plan(['s'])).toBeUndefined()
    expect(slots.release(entries[1]!)).toEqual([entries[3]])
    expect(slots.queued).toBe(2)
    expect(slots.plan(['s'])).toEqual({ count: 2, specs: ['s'] })
  })

  it('starts queued units of a spec under its limit past those of a full one, and dequeues by identity', () => {
    const slots = new Slots(2, new Map([['a', 1]]), 10)
    const [x, a1, a2, b1, b2] = [entry('x'), entry('a'), entry('a'), entry('b'), entry('b')]
    expect([x, a1, a2, b1, b2].map((e) => slots.admit(e!))).toEqual([true, true, false, false, false])
    expect(slots.dequeue(b2!)).toBe(true)
    expect(slots.dequeue(b2!)).toBe(false)
    // x's slot goes to b1: a2 waits, a's one slot is a1's.
    expect(slots.release(x!)).toEqual([b1])
    expect(slots.running).toBe(2)
    expect(slots.drainQueue()).toEqual([a2])
  })

  it('counts a claim in flight against the room, and claims beside it only for a quarter of prefetch or more', () => {
    const slots = new Slots(2, new Map([['a', 5]]), 8)
    const first = slots.reserve(6)
    // 10 of room, 6 on their way: 4 left, at least a quarter of prefetch.
    expect(slots.plan(['s'])).toEqual({ count: 4, specs: ['s'] })
    const second = slots.reserve(3)
    // One left: not worth a claim beside the two in flight.
    expect(slots.plan(['s'])).toBeUndefined()
    second()
    second()
    // The per-spec limit counts the whole claim in flight too: 5 - 6 leaves 'a' no room.
    expect(slots.plan(['a', 's'])).toEqual({ count: 4, specs: ['s'] })
    first()
    expect(slots.plan(['a', 's'])).toEqual({ count: 5, specs: ['a', 's'] })
  })
})
