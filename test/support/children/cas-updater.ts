// One of several processes incrementing the same counter with update(): argv is the database
// URL, the namespace, "unit" or "spec", and how many updates. It says {ready} once its cache
// is warm, waits for a line on stdin, then reports every update's latency and any error.
import { createInterface } from 'node:readline'
import { cacheCoordinate } from '../../../src/cache/index.js'
import type { DataDict } from '../../../src/coordinate/index.js'
import { openCoordinate } from '../../../src/postgres/open.js'

const [url, namespace, target, countText] = process.argv.slice(2) as [string, string, 'unit' | 'spec', string]
const backend = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
const cache = cacheCoordinate(backend, { changes: backend.changes() })
await backend.changes().ready()
const spec = await (await cache.namespace(namespace)).workSpec('counted')
const subject = target === 'unit' ? await spec.workUnit('counter') : spec
await subject.data()
const increment = (data: DataDict): DataDict => ({ ...data, n: (data.n as number) + 1 })

console.log(JSON.stringify({ ready: true }))
await new Promise((resolve) => createInterface({ input: process.stdin }).once('line', resolve))
const latencies: number[] = []
const errors: string[] = []
for (let i = 0; i < Number(countText); i++) {
  const started = performance.now()
  try {
    await subject.update(increment)
  } catch (error) {
    errors.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error))
  }
  latencies.push(performance.now() - started)
}
const locked = (await cache.metrics.casLockedUpdates.get()).values[0]?.value ?? 0
console.log(JSON.stringify({ done: true, latencies, errors, locked }))
await cache.close()
process.exit(0)
