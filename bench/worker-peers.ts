import pg from 'pg'
import { type PickupMeter, type RunResult, drainTimed } from './worker-measure.js'

// Jobs go in with one call per this many, as a producer would batch them.
const ADD_CHUNK = 10_000

/** graphile-worker's pool, ended by us: its own pool's idle clients crash the process on a drop. */
function graphilePool(url: string, concurrency: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: concurrency + 4 })
  pool.on('error', () => undefined)
  pool.on('connect', (client) => client.on('error', () => undefined))
  return pool
}

/**
 * graphile-worker 0.17's run() draining `jobs` no-op jobs at `concurrency`, with its defaults
 * or with its batching preset (local queue 500, completions batched), for at most `limitMs`. Undefined when it is not
 * installed for this Node.
 */
export async function graphileRun(url: string, jobs: number, concurrency: number, batching: boolean, limitMs: number, meter?: PickupMeter): Promise<RunResult | undefined> {
  let gw: typeof import('graphile-worker')
  try {
    gw = await import('graphile-worker')
  } catch {
    return undefined
  }
  const logger = new gw.Logger(() => () => undefined)
  const pgPool = graphilePool(url, concurrency)
  const utils = await gw.makeWorkerUtils({ pgPool, logger })
  try {
    await utils.migrate()
    await pgPool.query('DELETE FROM graphile_worker._private_jobs')
    for (let start = 0; start < jobs; start += ADD_CHUNK) {
      await utils.addJobs(Array.from({ length: Math.min(ADD_CHUNK, jobs - start) }, (_, i) => ({ identifier: 'noop', payload: { i: start + i } })))
    }
    await pgPool.query('VACUUM ANALYZE graphile_worker._private_jobs')
    let done = 0
    const drained = drainTimed(jobs, limitMs, () => done)
    const runner = await gw.run({
      pgPool,
      concurrency,
      noHandleSignals: true,
      logger,
      taskList: {
        noop: async (payload) => {
          // Only the meter's own jobs time a pickup; jobs a cut drain left behind do not.
          if (meter && (payload as { latency?: number }).latency !== undefined) meter.started()
          if (++done === jobs) drained.finish(done)
        },
      },
      preset: batching ? { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } } : {},
    })
    const result = await drained.result
    if (meter) {
      // Idle the runner (a drain cut by the time limit leaves jobs), then time single jobs from
      // addJob to the task starting.
      await pgPool.query('DELETE FROM graphile_worker._private_jobs WHERE locked_at IS NULL')
      await meter.measure(async (i) => void (await utils.addJob('noop', { latency: i })))
    }
    await runner.stop()
    return result
  } finally {
    await utils.release()
    await pgPool.end()
  }
}

/**
 * pg-boss 10's work(): `concurrency` polling loops with its default batch of one job each (its
 * minimum polling interval, 0.5 s, caps the rate), stopped after `timeLimitMs`. Undefined
 * when pg-boss is not installed for this Node.
 */
export async function pgBossWork(url: string, jobs: number, concurrency: number, timeLimitMs: number, meter?: PickupMeter): Promise<RunResult | undefined> {
  let PgBoss: typeof import('pg-boss')
  try {
    PgBoss = (await import('pg-boss')).default
  } catch {
    return undefined
  }
  // A small pool: the server's connections are shared, and its work() loops take turns on it.
  const boss = new PgBoss({ connectionString: url, max: 10, supervise: false, schedule: false })
  boss.on('error', () => undefined)
  try {
    await boss.start()
    await boss.deleteQueue('noop').catch(() => undefined)
    await boss.createQueue('noop')
    for (let start = 0; start < jobs; start += ADD_CHUNK) {
      await boss.insert(Array.from({ length: Math.min(ADD_CHUNK, jobs - start) }, (_, i) => ({ name: 'noop', data: { i: start + i } })))
    }
    let done = 0
    const drained = drainTimed(jobs, timeLimitMs, () => done)
    for (let i = 0; i < concurrency; i++) {
      await boss.work('noop', { pollingIntervalSeconds: 0.5, batchSize: 1 }, async (batch) => {
        done += batch.length
        if (done >= jobs) drained.finish(done)
      })
    }
    const result = await drained.result
    await boss.offWork('noop')
    if (meter) {
      // A queue of its own, so jobs the drain left behind do not come first.
      await boss.createQueue('pickup')
      await boss.work('pickup', { pollingIntervalSeconds: 0.5, batchSize: 1 }, async () => meter.started())
      await meter.measure(async (i) => void (await boss.send('pickup', { latency: i })))
    }
    return result
  } finally {
    await boss.stop({ graceful: false, wait: true })
  }
}
