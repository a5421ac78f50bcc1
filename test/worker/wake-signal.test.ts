import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../src/coordinate/clock.js'
import { ManualTimers } from '../../src/worker/timers.js'
import { WakeSignal } from '../../src/worker/wake-signal.js'

// With prefetch the runtime has two claim loops waiting at once; one notification must wake both.
describe('WakeSignal', () => {
  it('wakes every waiter on one notify, with the clock standing still', async () => {
    const timers = new ManualTimers(new FakeClock())
    const wake = new WakeSignal()
    const stop = new AbortController()
    const woken: string[] = []
    const first = wake.wait(timers, 2_000, stop.signal).then(() => woken.push('first'))
    const second = wake.wait(timers, 2_000, stop.signal).then(() => woken.push('second'))
    expect(timers.sleeping).toBe(2)
    wake.notify()
    await Promise.all([first, second])
    expect(woken.sort()).toEqual(['first', 'second'])
    expect(timers.sleeping).toBe(0)
  })

  it('keeps a notification heard while nobody waits for the next wait only', async () => {
    const timers = new ManualTimers(new FakeClock())
    const wake = new WakeSignal()
    const stop = new AbortController()
    wake.notify()
    await wake.wait(timers, 2_000, stop.signal)
    const later = wake.wait(timers, 2_000, stop.signal)
    expect(timers.sleeping).toBe(1)
    timers.advance(2_000)
    await later
    expect(timers.sleeping).toBe(0)
  })
})
