import { describe, expect, it } from 'vitest'
import { VersionConflictError } from '../../src/coordinate/errors.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

describe('row versions', async () => {
  const { coordinate } = await openTestCoordinate()

  it('only grow, also across a delete and re-create of the same unit', async () => {
    const spec = await (await coordinate.namespace('versions')).setWorkSpec({ name: 'spec' })
    const unit = await spec.addWorkUnit('u')
    const first = (await unit.snapshot()).version
    await unit.setMeta({ priority: 5 })
    const second = (await unit.snapshot()).version
    expect(second).toBeGreaterThan(first)
    await spec.deleteWorkUnits({})
    const again = await spec.addWorkUnit('u')
    expect((await again.snapshot()).version).toBeGreaterThan(second)
  })

  it('move with setMeta on a spec, so a guarded setData sees it', async () => {
    const spec = await (await coordinate.namespace('versions-spec')).setWorkSpec({ name: 'spec' })
    const before = (await spec.snapshot()).version
    await spec.setMeta({ priority: 3 })
    const after = (await spec.snapshot()).version
    expect(after).toBeGreaterThan(before)
    await expect(spec.setData({ name: 'spec', weight: 2 }, { ifVersion: before })).rejects.toBeInstanceOf(VersionConflictError)
    expect(await spec.setData({ name: 'spec', weight: 2 }, { ifVersion: after })).toBeGreaterThan(after)
    expect((await spec.meta()).weight).toBe(2)
  })
})
