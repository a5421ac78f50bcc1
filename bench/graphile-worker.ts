import pg from 'pg'
import { dropDatabase, freshDatabase, timed } from './support.js'

const JOBS = 20_000

/**
 * graphile-worker draining JOBS no-op jobs with 8 concurrent workers and its batching preset
 * (local queue 500, completions batched), the way its own performance test runs it. Returns
 * jobs per second, or undefined when graphile-worker is not installed for this Node.
 */
export async function graphileWorkerRate(): Promise<number | undefined> {
  let gw: typeof import('graphile-worker')
  try {
    gw = await import('graphile-worker')
  } catch {
    return undefined
  }
  const url = await freshDatabase('coordinate_bench_graphile')
  const logger = new gw.Logger(() => () => undefined)
  // Our own pool, ended before the database is dropped: an idle client of a pool graphile-worker
  // made itself could see the drop's termination and crash the process with an unhandled error.
  const pgPool = new pg.Pool({ connectionString: url, max: 12 })
  pgPool.on('error', () => undefined)
  pgPool.on('connect', (client) => client.on('error', () => undefined))
  const utils = await gw.makeWorkerUtils({ pgPool, logger })
  try {
    await utils.migrate()
    await utils.addJobs(Array.from({ length: JOBS }, (_, i) => ({ identifier: 'noop', payload: { i } })))
    let done = 0
    let drained!: () => void
    const allDone = new Promise<void>((resolve) => (drained = resolve))
    const { ms, value: runner } = await timed(async () => {
      const runner = await gw.run({
        pgPool,
        concurrency: 8,
        noHandleSignals: true,
        logger,
        taskList: {
          noop: async () => {
            if (++done === JOBS) drained()
          },
        },
        preset: { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
      })
      await allDone
      return runner
    })
    await runner.stop()
    return JOBS / (ms / 1000)
  } finally {
    await utils.release()
    await pgPool.end()
    await dropDatabase('coordinate_bench_graphile')
  }
}
