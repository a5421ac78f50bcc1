import { dropDatabase, freshDatabase, timed, vacuum } from './support.js'

const WORKERS = 8
// pg-boss 10 sorts a queue's whole backlog on every fetch (its fetch index does not give the
// order), so its rate falls as the backlog grows; a time limit keeps a slow run from
// stretching the benchmark to minutes.
const TIME_LIMIT_MS = 10_000

/**
 * pg-boss with `backlog` no-op jobs queued, drained by 8 concurrent loops of
 * `fetch(batchSize)` + `complete(ids)`: its claim and completion SQL without its polling
 * worker, which would cap the rate at batchSize per polling interval. Stops after `jobs` jobs
 * or 10 s. Returns jobs per second, or undefined when pg-boss is not installed for this Node.
 */
export async function pgBossRate(backlog: number, jobs: number, batchSize: number): Promise<number | undefined> {
  let PgBoss: typeof import('pg-boss')
  try {
    PgBoss = (await import('pg-boss')).default
  } catch {
    return undefined
  }
  const url = await freshDatabase('coordinate_bench_pgboss')
  const boss = new PgBoss({ connectionString: url, max: WORKERS + 2, supervise: false, schedule: false })
  boss.on('error', () => undefined)
  try {
    await boss.start()
    await boss.createQueue('noop')
    for (let start = 0; start < backlog; start += 10_000) {
      await boss.insert(Array.from({ length: Math.min(10_000, backlog - start) }, (_, i) => ({ name: 'noop', data: { i: start + i } })))
    }
    await vacuum(url)
    let done = 0
    const deadline = performance.now() + TIME_LIMIT_MS
    const { ms } = await timed(() =>
      Promise.all(
        Array.from({ length: WORKERS }, async () => {
          while (done < jobs && performance.now() < deadline) {
            const batch = await boss.fetch('noop', { batchSize })
            if (batch.length === 0) return
            await boss.complete('noop', batch.map((job) => job.id))
            done += batch.length
          }
        }),
      ),
    )
    return done / (ms / 1000)
  } finally {
    await boss.stop({ graceful: false, wait: true })
    await dropDatabase('coordinate_bench_pgboss')
  }
}
