import { describe, expect, it } from 'vitest'
import { mapLimit } from '../../src/coordinate/map-limit.js'

describe('mapLimit', () => {
  it('keeps the order of the items, with never more than `limit` calls in flight', async () => {
    let inFlight = 0
    let most = 0
    const results = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n, i) => {
      inFlight++
      most = Math.max(most, inFlight)
      // Later items finish first, so the order must come from the index, not from completion.
      for (let turn = 0; turn < n; turn++) await Promise.resolve()
      inFlight--
      return `${i}:${n}`
    })
    expect(results).toEqual(['0:5', '1:1', '2:4', '3:2', '4:3', '5:0'])
    expect(most).toBe(2)
  })

  it('fails with the first error and starts no item after it', async () => {
    const started: number[] = []
    const run = mapLimit([0, 1, 2, 3, 4, 5], 1, async (n) => {
      started.push(n)
      if (n === 2) throw new Error('item 2 failed')
      return n
    })
    await expect(run).rejects.toThrow('item 2 failed')
    expect(started).toEqual([0, 1, 2])
  })

  it('calls nothing for no items', async () => {
    expect(await mapLimit([], 8, async () => 1)).toEqual([])
  })
})
