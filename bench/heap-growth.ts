import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { report } from './support.js'

// What the daemon's heap-growth cap (src/cli/heap-growth.ts) does to a heap that turns over
// old-space objects the way the daemon's cache does. It is a benchmark, not a test: V8's
// collection timing depends on how busy the machine is (on a loaded host both runs stay low
// and the difference vanishes), so it is read as a figure, with the host's load beside it.

const ROUNDS = Number(process.env.BENCH_HEAP_ROUNDS ?? 10_000)
const limiter = new URL('../src/cli/heap-growth.js', import.meta.url).href

// About 75 MB kept alive, then about 400 MB of objects that live long enough to be promoted and
// are then dropped. Prints the highest heap used and the live heap after a full collection.
const churn = (capped: boolean): string => `
  import v8 from 'node:v8'
  ${capped ? `const { limitHeapGrowth } = await import(${JSON.stringify(limiter)}); limitHeapGrowth()` : ''}
  const live = Array.from({ length: 200_000 }, (_, i) => ({ i, s: 'x'.repeat(150) + i }))
  const ring = new Array(20_000)
  let peak = 0
  for (let round = 0; round < ${ROUNDS}; round++) {
    for (let j = 0; j < 200; j++) ring[(round * 200 + j) % ring.length] = { round, j, pad: 'y'.repeat(100) + j }
    if (round % 10 === 0) await new Promise((resolve) => setImmediate(resolve))
    peak = Math.max(peak, v8.getHeapStatistics().used_heap_size)
  }
  globalThis.gc()
  console.log(JSON.stringify({ peak, live: v8.getHeapStatistics().used_heap_size, kept: live.length + ring.length }))
`

async function peakHeap(capped: boolean, nodeFlags: string[]): Promise<{ peak: number; live: number }> {
  const args = ['--expose-gc', ...nodeFlags, '--input-type=module', '-e', churn(capped)]
  const { stdout } = await promisify(execFile)(process.execPath, args, { encoding: 'utf8' })
  return JSON.parse(stdout) as { peak: number; live: number }
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`

/** Peak heap of the churn with the daemon's cap, against V8 left to itself and V8 at a fixed 4×. */
export async function benchHeapGrowth(): Promise<void> {
  const own = await peakHeap(false, [])
  const fourfold = await peakHeap(false, ['--heap-growing-percent=300'])
  const capped = await peakHeap(true, [])
  report('live heap after a full collection', mb(capped.live))
  report("peak heap, V8's own growth factor", mb(own.peak))
  report('peak heap, V8 at a fixed 4× (what it picks after a lull)', mb(fourfold.peak))
  report("peak heap, the daemon's 1.5× cap", mb(capped.peak), { to: 'the fixed 4×', value: capped.peak / fourfold.peak, subject: 'capped' })
}
