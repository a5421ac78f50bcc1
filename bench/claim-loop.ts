import pg from 'pg'
import type { Attempt } from '../src/coordinate/api.js'
import { openCoordinate } from '../src/postgres/open.js'
import { type DatabaseWal, DatabaseWalMeter, walPerUnit, walRatio } from './database-wal.js'
import { closeOnce, dropDatabase, freshDatabase, median, report, timed, vacuum } from './support.js'
import { graphileWorkerRate } from './graphile-worker.js'
import { pgBossRate } from './pg-boss.js'

const WORKERS = 8
// Units queued for the batch-1 and batch-100 loops (ours and the bare one).
const LOOP_UNITS = 50_000

/** How many units a loop over `units` does at this batch size before it stops. */
function loopTarget(units: number, batch: number): number {
  return Math.min(units, 20_000 * Math.max(1, batch / 10))
}

/** What one loop measured: units per second, the units it did, and the WAL its database wrote. */
interface LoopResult {
  rate: number
  units: number
  wal: DatabaseWal | undefined
}

// WAL per unit counts the index entries, row versions and locks each unit costs. It moves far
// less than the rate with the machine's load, so it can show what a change to the claim path
// did when the rate is lost in noise. It is read from the WAL itself, for this database only
// (bench/database-wal.ts): other work on the server no longer lands on the loop.
// Without a meter (loops whose rate alone is reported) the WAL is not read: reading a 1M-unit
// loop's range would take longer than the loop.
async function measured(meter: DatabaseWalMeter | undefined, loop: () => Promise<number>, close: () => Promise<void>): Promise<LoopResult> {
  const run = async () => {
    const { value: done, ms } = await timed(loop)
    await close()
    return { done, ms }
  }
  const { value, wal } = meter ? await meter.measure(run) : { value: await run(), wal: undefined }
  return { rate: value.done / (value.ms / 1000), units: value.done, wal }
}

// Each loop gets a namespace of its own, so repeated loops start from the same state.
let loopsRun = 0

/** 8 workers claim and finish every unit of a spec in batches; `counts: false` turns the unit-count triggers off. */
async function coordinateLoop(url: string, meter: pg.Pool, wal: DatabaseWalMeter | undefined, units: number, batch: number, counts = true): Promise<LoopResult> {
  const coordinate = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0, poolSize: WORKERS + 2 })
  const close = closeOnce(() => coordinate.close())
  try {
    for (const op of ['insert', 'update', 'delete']) {
      await meter.query(`ALTER TABLE coordinate.work_unit ${counts ? 'ENABLE' : 'DISABLE'} TRIGGER work_units_counted_${op}`)
    }
    const ns = await coordinate.namespace(`loop-${units}-${batch}-${++loopsRun}`)
    const spec = await ns.setWorkSpec({ name: 'spec' })
    for (let start = 0; start < units; start += 100_000) {
      await spec.addWorkUnits(Array.from({ length: Math.min(100_000, units - start) }, (_, i) => ({ key: `u${String(start + i).padStart(9, '0')}` })))
    }
    // As the bare loop does after its insert: both start from analyzed, vacuumed tables.
    await vacuum(url)
    const workers = await Promise.all(Array.from({ length: WORKERS }, (_, i) => ns.worker(`w${i}`)))
    const target = loopTarget(units, batch)
    let done = 0
    return await measured(wal, async () => {
      await Promise.all(
        workers.map(async (worker) => {
          while (done < target) {
            const attempts: Attempt[] = await worker.requestAttempts({ numberOfWorkUnits: batch })
            if (attempts.length === 0) return
            await ns.completeAttempts(attempts.map((attempt) => ({ attempt, status: 'finished' as const })))
            done += attempts.length
          }
        }),
      )
      return done
    }, close)
  } finally {
    await close()
  }
}

/**
 * The same loop in bare SQL on a one-table queue: the floor a SKIP LOCKED claim can reach here.
 * `keyed` gives each job what every unit has and a bare job does not: a spec, data that the
 * claim returns, and names unique within the spec. That unique index alone is an entry more on
 * every claim (the claim's update cannot be HOT, since it leaves the claim index), so this
 * loop shows what a store of uniquely named units costs before any of our own choices.
 */
async function bareLoop(url: string, wal: DatabaseWalMeter | undefined, units: number, batch: number, keyed = false): Promise<LoopResult> {
  const pool = new pg.Pool({ connectionString: url, max: WORKERS + 2 })
  const close = closeOnce(() => pool.end())
  try {
    await pool.query('DROP TABLE IF EXISTS bare_job')
    await pool.query(`CREATE TABLE bare_job (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL,
      priority double precision NOT NULL DEFAULT 0, state text NOT NULL DEFAULT 'available', worker text, expires timestamptz
      ${keyed ? ", spec bigint NOT NULL DEFAULT 1, data bytea NOT NULL DEFAULT '\\xa0'" : ''})`)
    await pool.query(`CREATE INDEX bare_job_claim ON bare_job (priority DESC, name) WHERE state = 'available'`)
    if (keyed) await pool.query('CREATE UNIQUE INDEX bare_job_key ON bare_job (spec, name)')
    await pool.query(`INSERT INTO bare_job (name) SELECT 'u' || lpad(g::text, 9, '0') FROM generate_series(1, $1) g`, [units])
    await pool.query('VACUUM ANALYZE bare_job')
    const target = loopTarget(units, batch)
    let done = 0
    return await measured(wal, async () => {
      await Promise.all(
        Array.from({ length: WORKERS }, async (_, w) => {
          while (done < target) {
            const { rows } = await pool.query<{ id: string }>(
              `UPDATE bare_job SET state = 'pending', worker = $1, expires = now() + interval '15 minutes'
               WHERE id IN (SELECT id FROM bare_job WHERE state = 'available' ORDER BY priority DESC, name LIMIT $2 FOR UPDATE SKIP LOCKED)
               RETURNING id${keyed ? ', data' : ''}`,
              [`w${w}`, batch],
            )
            if (rows.length === 0) return
            await pool.query(`UPDATE bare_job SET state = 'finished' WHERE id = ANY($1::bigint[])`, [rows.map((r) => r.id)])
            done += rows.length
          }
        }),
      )
      return done
    }, close)
  } finally {
    await close()
  }
}


/**
 * What the unit-count triggers cost the claim loop (BENCH_CLAIM_COUNTS=ab): loops with the
 * triggers off and on, interleaved so the machine's load falls on both alike, and the bare loop.
 */
async function countsCost(url: string, meter: pg.Pool): Promise<void> {
  const rounds = Number(process.env.BENCH_CLAIM_ROUNDS ?? 3)
  for (const batch of (process.env.BENCH_CLAIM_BATCHES ?? '1,100').split(',').map(Number)) {
    const rates: Record<'off' | 'on' | 'bare', number[]> = { off: [], on: [], bare: [] }
    for (let round = 0; round < rounds; round++) {
      // Which goes first alternates: the first loop of a round runs on a freshly vacuumed table.
      for (const mode of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        await vacuum(url)
        rates[mode].push((await coordinateLoop(url, meter, undefined, LOOP_UNITS, batch, mode === 'on')).rate)
      }
      await vacuum(url)
      rates.bare.push((await bareLoop(url, undefined, LOOP_UNITS, batch)).rate)
    }
    const on = median(rates.on)
    const off = median(rates.off)
    report(`${WORKERS} workers claim+finish, batch ${batch}, counts kept`, `${Math.round(on)} units/s (runs ${rates.on.map(Math.round).join(', ')})`, { to: 'the same loop with the count triggers off', value: on / off })
    report(`  the same, count triggers off`, `${Math.round(off)} units/s (runs ${rates.off.map(Math.round).join(', ')})`, { to: 'bare SQL', value: off / median(rates.bare) })
    report(`  bare SQL SKIP LOCKED loop`, `${Math.round(median(rates.bare))} units/s`, { subject: 'counts kept', to: 'bare SQL', value: on / median(rates.bare) })
  }
}

/** Claim+finish throughput for batch 100 and 1, and with 1M available units, against bare SQL. */
export async function benchClaimLoop(): Promise<void> {
  const url = await freshDatabase('coordinate_bench_claim')
  const meter = new pg.Pool({ connectionString: url, max: 1 })
  // Ended before the drop, yet one run still crashed on its client seeing DROP DATABASE … FORCE
  // terminate it: a trigger switch has nothing to lose from an error here.
  meter.on('error', () => undefined)
  const wal = await DatabaseWalMeter.open(url)
  try {
    if (process.env.BENCH_CLAIM_COUNTS === 'ab') return await countsCost(url, meter)
    console.log(
      wal.unavailable === undefined
        ? "WAL per unit: this database's records and its writers' commits, from a CHECKPOINT (pg_walinspect)"
        : `WAL per unit: n/a (${wal.unavailable})`,
    )
    const ourRates = new Map<number, number>()
    for (const batch of (process.env.BENCH_CLAIM_BATCHES ?? '1,100').split(',').map(Number)) {
      // Each loop starts from a vacuumed database, so one run's dead rows and the autovacuum
      // they trigger do not land on the next measurement.
      await vacuum(url)
      const bare = await bareLoop(url, wal, LOOP_UNITS, batch)
      await vacuum(url)
      const ours = await coordinateLoop(url, meter, wal, LOOP_UNITS, batch)
      ourRates.set(batch, ours.rate)
      report(`${WORKERS} workers claim+finish, batch ${batch}`, `${Math.round(ours.rate)} units/s`, { to: 'bare SQL SKIP LOCKED loop', value: ours.rate / bare.rate })
      report(`  baseline: bare SQL, batch ${batch}`, `${Math.round(bare.rate)} units/s`)
      const walOver = walRatio(ours.wal, ours.units, bare.wal, bare.units)
      report(`  WAL per unit, batch ${batch}: ours / bare`, `${walPerUnit(ours.wal, ours.units)} / ${walPerUnit(bare.wal, bare.units)}`, walOver === undefined ? undefined : { to: 'bare, in bytes', value: walOver })
      await vacuum(url)
      const keyed = await bareLoop(url, wal, LOOP_UNITS, batch, true)
      report(`  bare SQL, unique (spec, name) key, batch ${batch}`, `${Math.round(keyed.rate)} units/s`, { subject: 'ours', to: 'the keyed bare loop', value: ours.rate / keyed.rate })
      const keyedWal = walRatio(ours.wal, ours.units, keyed.wal, keyed.units)
      report(`  WAL per unit, batch ${batch}: keyed bare loop`, walPerUnit(keyed.wal, keyed.units), keyedWal === undefined ? undefined : { subject: 'ours', to: 'the keyed bare loop, in bytes', value: keyedWal })
    }
    const graphile = await graphileWorkerRate()
    const batched = ourRates.get(100)
    if (graphile === undefined) report('  peer: graphile-worker', 'not installed for this Node')
    else if (batched !== undefined) report('  peer: graphile-worker 0.17, 8 workers, local queue 500', `${Math.round(graphile)} jobs/s`, { subject: 'ours at batch 100', to: 'graphile-worker', value: batched / graphile })
    else report('  peer: graphile-worker 0.17, 8 workers, local queue 500', `${Math.round(graphile)} jobs/s`)
    for (const [batch, ours] of ourRates) {
      // The same backlog and job count as our loop at this batch size.
      const boss = await pgBossRate(LOOP_UNITS, loopTarget(LOOP_UNITS, batch), batch)
      if (boss === undefined) report(`  peer: pg-boss, batch ${batch}`, 'not installed for this Node')
      else report(`  peer: pg-boss 10, 8 fetch+complete loops, batch ${batch}`, `${Math.round(boss)} jobs/s`, { subject: `ours at batch ${batch}`, to: 'pg-boss', value: ours / boss })
    }
    await vacuum(url)
    const small = await coordinateLoop(url, meter, undefined, 10_000, 100)
    await vacuum(url)
    const large = await coordinateLoop(url, meter, undefined, Number(process.env.BENCH_SCALE_UNITS ?? 1_000_000), 100)
    report('claim+finish batch 100, spec with 1M available units', `${Math.round(large.rate)} units/s`, { to: 'the 10k-unit spec', value: large.rate / small.rate })
    report('  baseline: spec with 10k units', `${Math.round(small.rate)} units/s`)
  } finally {
    await wal.close()
    await meter.end()
    await dropDatabase('coordinate_bench_claim')
  }
}
