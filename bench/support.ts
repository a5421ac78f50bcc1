import pg from 'pg'
import os from 'node:os'
import { runAdminStatement } from './server-admin.js'

/** The server benchmarks run against: BENCH_DATABASE_URL, DATABASE_URL, or the local server. */
export const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Drops and re-creates a scratch database for one benchmark and returns its URL. */
export async function freshDatabase(name: string): Promise<string> {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await admin(`CREATE DATABASE ${name} TEMPLATE template0`)
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/**
 * A scratch database kept between runs (BENCH_KEEP_DATABASES=1): created when missing, else
 * reused as the last run left it, so a large load is paid once. Without the variable, a fresh one.
 */
export async function keptDatabase(name: string): Promise<{ url: string; kept: boolean }> {
  if (process.env.BENCH_KEEP_DATABASES !== '1') return { url: await freshDatabase(name), kept: false }
  await admin(`CREATE DATABASE ${name} TEMPLATE template0`).catch((error: unknown) => {
    if ((error as { code?: string }).code !== '42P04') throw error // 42P04: it exists already
  })
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return { url: url.toString(), kept: true }
}

/** Drops a scratch database. */
export async function dropDatabase(name: string): Promise<void> {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
}

function admin(statement: string): Promise<void> {
  return runAdminStatement(serverUrl, statement)
}

/** VACUUM ANALYZE a scratch database, so one measurement's dead rows do not slow the next. */
export async function vacuum(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('VACUUM ANALYZE')
  } finally {
    await client.end()
  }
}

/** Runs `fn` and returns its result with the elapsed milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = process.hrtime.bigint()
  const value = await fn()
  return { value, ms: Number(process.hrtime.bigint() - start) / 1e6 }
}

/** The median time of `times` runs of `fn`, one after another, with `pauseMs` before each. */
export async function medianMs(times: number, fn: () => Promise<unknown>, pauseMs = 0): Promise<number> {
  const ms: number[] = []
  for (let i = 0; i < times; i++) {
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
    ms.push((await timed(fn)).ms)
  }
  return median(ms)
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  return percentile(values, 0.5)
}

/** The q-quantile (0 to 1) of some numbers by nearest rank, the one rule every bench reports with; NaN for none. */
export function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
}

/** "p50 1.2 ms, p99 3.4 ms (n=200)": the quantiles `qs` of some milliseconds, to `digits` decimals. */
export function percentileText(values: readonly number[], qs: readonly number[], digits: number): string {
  const each = qs.map((q) => `p${Math.round(q * 100)} ${percentile(values, q).toFixed(digits)} ms`)
  return `${each.join(', ')} (n=${values.length})`
}

/** Prints one result line: what, the absolute figure, and the ratio to the same run's baseline. */
export function report(what: string, value: string, ratio?: { to: string; value: number; subject?: string }): void {
  // With a subject the ratio is another line's figure, so it names it: "(ours = 1.10× peer)".
  const subject = ratio?.subject === undefined ? '' : `${ratio.subject} = `
  const r = ratio ? `  (${subject}${ratio.value.toFixed(2)}× ${ratio.to})` : ''
  console.log(`${what.padEnd(58)} ${value}${r}`)
}

/** One line naming the machine, Node and Postgres, printed before the results. */
export async function describeMachine(): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl })
  await client.connect()
  const { rows } = await client.query<{ server_version: string }>('SHOW server_version')
  await client.end()
  console.log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; node ${process.version}; PostgreSQL ${rows[0]?.server_version}`)
}

/**
 * Waits until no other client of the meter's database is connected. Backends report their
 * statistics counters about once a second and when they exit, so a reading taken after the
 * loop's connections have gone counts a loop shorter than that too.
 */
export async function clientsGone(meter: pg.Pool, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const { rows } = await meter.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    )
    if (rows[0]?.n === 0 || performance.now() > deadline) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Wraps a close function so that only its first call does anything. */
export function closeOnce(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined
  return () => (closing ??= close())
}

/** The key of the `i`th unit a bench adds: zero-padded so keys sort as the numbers do. */
export function unitKey(i: number): string {
  return `u${String(i).padStart(9, '0')}`
}
