import { describe, expect, it } from 'vitest'
import { DAEMON_HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../src/cli/heap-growth.js'

// What the cap does to a heap is measured by `npm run bench -- heap-growth`: V8's collection
// timing depends on how busy the machine is, so a test comparing peaks failed on loaded hosts.
describe('the daemon limits heap growth between full collections', () => {
  it('asks V8 for a 1.5× growing factor unless the operator chose one', () => {
    expect(heapGrowthFlag([], undefined)).toBe(`--heap-growing-percent=${DAEMON_HEAP_GROWING_PERCENT}`)
    expect(heapGrowthFlag(['--enable-source-maps'], '--max-old-space-size=512')).toBe('--heap-growing-percent=50')
    expect(heapGrowthFlag(['--heap-growing-percent=200'], undefined)).toBeUndefined()
    expect(heapGrowthFlag([], '--max-old-space-size=512 --heap_growing_percent=30')).toBeUndefined()
  })
})
