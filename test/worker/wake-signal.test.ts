import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../src/coordinate/clock.js'
import { ManualTimers } from '../../src/worker/timers.js'
import { WakeSignal } from '../../src/worker/wake-signal.js'

// With prefetch the runtime has two claim loops; news must reach both, whichever wakes first.
describe('WakeSignal', () => {
  it('wakes every waiter on one notify, with the clock standing still', async () => {
    const timers = new ManualTimers(new FakeClock())
    const wake = new WakeSignal()
    const stop = new AbortController()
    const woken: string[] = []
    const first = wake.wait(timers, 2_000, stop.signal, wake.heard).then(() => woken.push('first'))
    const second = wake.wait(timers, 2_000, stop.signal, wake.heard).then(() => woken.push('second'))
    expect(timers.sleeping).toBe(2)
    wake.notify()
    await Promise.all([first, second])
    expect(woken.sort()).toEqual(['first', 'second'])
    expect(timers.sleeping).toBe(0)
  })

  it('ends the wait of a loop that was claiming when the news came, after the other loop woke on it and waits again', async () => {
    const timers = new ManualTimers(new FakeClock())
    const wake = new WakeSignal()
    const stop = new AbortController()
    // Loop A plans and claims; loop B waits.
    const markA = wake.heard
    const b = wake.wait(timers, 2_000, stop.signal, wake.heard)
    wake.notify()
    await b
    // B found no room (A's claim holds it) and waits again, from the news it has seen.
    const bAgain = wake.wait(timers, 2_000, stop.signal, wake.heard)
    expect(timers.sleeping).toBe(1)
    // A's claim began before the new unit and came back empty: its wait returns at once.
    await wake.wait(timers, 2_000, stop.signal, markA)
    expect(timers.sleeping).toBe(1)
    timers.advance(2_000)
    await bAgain
    expect(timers.sleeping).toBe(0)
  })
})
