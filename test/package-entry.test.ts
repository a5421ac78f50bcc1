import { describe, expect, it } from 'vitest'
import * as coordinateTs from '../src/index.js'

describe('package entry', () => {
  it('exports the library API', () => {
    expect(typeof coordinateTs.openCoordinate).toBe('function')
    expect(typeof coordinateTs.cacheCoordinate).toBe('function')
    expect(typeof coordinateTs.runDaemon).toBe('function')
    expect(typeof coordinateTs.JobServer).toBe('function')
    expect(typeof coordinateTs.runWorkers).toBe('function')
    expect(new coordinateTs.NoSuchWorkSpecError('x')).toBeInstanceOf(coordinateTs.CoordinateError)
  })

  it('runs on embedded PGlite when given no database URL (the default)', async () => {
    const clock = new coordinateTs.FakeClock()
    const coordinate = await coordinateTs.openCoordinate({ clock, leaseSweepMs: 0 })
    try {
      const cached = coordinateTs.cacheCoordinate(coordinate, { clock, changes: coordinate.changes() })
      const ns = await cached.namespace('')
      const spec = await ns.setWorkSpec({ name: 'embedded', then: 'next' })
      await ns.setWorkSpec({ name: 'next' })
      await spec.addWorkUnits([{ key: 'a', data: { output: ['b'] } }])
      const [attempt] = await (await ns.worker('w')).requestAttempts()
      await attempt!.finish()
      expect(await (await spec.workUnit('a')).status()).toBe('finished')
      expect(await (await ns.workSpec('next')).countWorkUnitStatus()).toEqual({ available: 1 })
      await cached.close()
    } finally {
      await coordinate.close()
    }
  }, 60_000)
})
