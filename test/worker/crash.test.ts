import { describe, expect, it } from 'vitest'
import { FakeClock } from '../../src/coordinate/clock.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { runTs } from './child-process.js'
import { startRuntime } from './support.js'

// The child runs on the wall clock, so this file's fake clock starts there too.
const { coordinate, clock, url } = await openTestCoordinate(new FakeClock(Date.now()))

describe('a handler process that crashes', () => {
  // PGlite (the fallback when no server is reachable) cannot be shared with a child process.
  it.runIf(url !== undefined)('gets its unit back after the lease, and it runs exactly once more', async () => {
    const ns = await coordinate.namespace('crash')
    const spec = await ns.setWorkSpec({ name: 'crash' })
    await spec.addWorkUnit('victim', { n: 1 })
    const child = runTs('test/worker/fixtures/crash-worker.ts', [url!, 'crash'])
    const { signal, stdout } = await child.exited
    expect(signal).toBe('SIGKILL')
    expect(stdout.match(/started victim/g)).toHaveLength(1)
    const unit = await spec.workUnit('victim')
    expect(await unit.status()).toBe('pending')

    const runs: string[] = []
    const { log, timers } = await startRuntime(coordinate, clock, {
      namespace: 'crash',
      tasks: { crash: (u) => void runs.push(u.name) },
    })
    // Still leased to the dead process: nothing to claim yet.
    await log.next((e) => e.type === 'idle')
    expect(runs).toEqual([])
    // Past the child's 60 s lease (on the wall clock) the next poll finds the unit.
    timers.advance(Date.now() - clock.now().getTime() + 61_000)
    await log.completed(1)
    expect(runs).toEqual(['victim'])
    expect(await unit.status()).toBe('finished')
    const attempts = await unit.attempts()
    expect(await Promise.all(attempts.map((a) => a.status()))).toEqual(['expired', 'finished'])
    // No third run: every later poll finds nothing.
    timers.advance(61_000)
    await log.next((e) => e.type === 'idle')
    expect(runs).toEqual(['victim'])
  }, 60_000)
})
