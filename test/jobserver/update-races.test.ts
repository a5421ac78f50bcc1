import { describe, expect, it } from 'vitest'
import type { Namespace, WorkSpec, WorkUnit } from '../../src/coordinate/api.js'
import { SECOND } from '../../src/coordinate/clock.js'
import { JobServer } from '../../src/jobserver/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { echo } from './harness.js'

// update_work_unit reads a unit, decides, and writes; another connection's writes can land in
// between. These tests put them exactly there: the namespace the JobServer serves hands out
// units whose snapshot() lets `interfere` run after the read and before the answer.

const { coordinate, clock } = await openTestCoordinate()
const FINISHED = 4
const LEASE_MS = 10 * SECOND

/** `target` with one method replaced; everything else answered by `target` itself (private fields work). */
function replacing<T extends object>(target: T, name: keyof T, replacement: unknown): T {
  return new Proxy(target, {
    get(t, prop) {
      if (prop === name) return replacement
      const value: unknown = Reflect.get(t, prop, t)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(t) : value
    },
  })
}

/** The namespace, with `interfere` run after every unit snapshot the JobServer reads. */
function interferingNamespace(namespace: Namespace, interfere: () => Promise<void>): Namespace {
  const unit = (u: WorkUnit): WorkUnit =>
    replacing(u, 'snapshot', async () => {
      const snapshot = await u.snapshot()
      await interfere()
      return snapshot
    })
  const spec = (s: WorkSpec): WorkSpec => replacing(s, 'workUnit', async (key: Uint8Array | string) => unit(await s.workUnit(key)))
  return replacing(namespace, 'workSpec', async (name: string) => spec(await namespace.workSpec(name)))
}

/** A unit whose lease (worker `first`'s) has lapsed, so it reads as available. */
async function lapsedUnit(name: string): Promise<{ namespace: Namespace; spec: WorkSpec; unit: WorkUnit }> {
  const namespace = await coordinate.namespace(name)
  const spec = await namespace.setWorkSpec({ name: 'spec' })
  await spec.addWorkUnit('u', { v: 0 })
  const [attempt] = await (await namespace.worker('first')).requestAttempts({ lifetimeMs: LEASE_MS })
  expect(attempt?.workUnit.name).toBe('u')
  clock.advance(LEASE_MS + SECOND)
  return { namespace, spec, unit: await spec.workUnit('u') }
}

function finishCall(server: JobServer): Promise<unknown> {
  return server.handler('update_work_unit', [echo('spec'), echo('u'), echo({ status: FINISHED, data: { by: 'late' } })], { connectionId: 1 })
}

describe('update_work_unit while another connection writes the same unit', () => {
  it('decides again when the unit was claimed and finished between its read and its write, and finishes nothing twice', async () => {
    const { namespace, spec, unit } = await lapsedUnit('claimed-between')
    let interfered = 0
    const server = new JobServer({
      namespace: interferingNamespace(namespace, async () => {
        if (interfered++ > 0) return
        const [attempt] = await (await namespace.worker('second')).requestAttempts({ lifetimeMs: LEASE_MS })
        await attempt!.finish({ by: 'second' })
      }),
      clock,
    })
    // The unit read as available, so the late finish would force an attempt; the guard refused
    // it, and the fresh read found the unit finished by the second worker: nothing changed.
    expect(await finishCall(server)).toEqual([false, null])
    expect(interfered).toBe(2)
    expect(await unit.status()).toBe('finished')
    expect((await unit.activeAttempt())?.worker.name).toBe('second')
    expect(await unit.data()).toEqual({ by: 'second' })
    expect((await unit.attempts()).map((a) => a.worker.name)).toEqual(['first', 'second'])
    expect(await spec.countWorkUnitStatus()).toEqual({ finished: 1 })
  })

  it('gives up with the conflict after five refused tries, and leaves the unit as it was', async () => {
    const { namespace, unit } = await lapsedUnit('always-moving')
    let interfered = 0
    // Every read is followed by another writer's change to the unit (a new priority), so every
    // forced attempt's version guard is refused.
    const server = new JobServer({
      namespace: interferingNamespace(namespace, async () => void (await unit.setMeta({ priority: ++interfered }))),
      clock,
    })
    await expect(finishCall(server)).rejects.toThrow(/version/i)
    expect(interfered).toBe(5)
    expect(await unit.status()).toBe('available')
    expect((await unit.attempts()).map((a) => a.worker.name)).toEqual(['first'])
    expect(await unit.data()).toEqual({ v: 0 })
  })
})
