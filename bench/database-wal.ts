import pg from 'pg'

// WAL a benchmark's own database wrote over a stretch of work, read back with pg_walinspect.
// The server's pg_stat_wal counts every database's writes, so tests or another benchmark on
// the same server landed on whichever loop was running (the README's first WAL ratio did).
// Counted here: every record with a block reference in this database (heap and index
// changes, locks, pruning, full-page images, this database's vacuum), and every other record
// of the transactions that wrote them (their commit records above all). Left out: records of
// other databases and server-wide ones (checkpoints, running-transaction snapshots).

/** WAL one database's work wrote: records, their bytes, and the full-page images among those bytes. */
export interface DatabaseWal {
  records: number
  bytes: number
  fpiBytes: number
}

// A record belongs here when one of its block references ("blkref #0: rel 1663/16385/2619
// fork main blk 3") names this database's OID: the text is all PostgreSQL 15 gives, where 16
// has pg_get_wal_block_info with the OID as a column.
const READ_RANGE_SQL = `
  WITH r AS MATERIALIZED (
    SELECT xid, record_length, fpi_length, coalesce(block_ref ~ $3, false) AS here
      FROM pg_get_wal_records_info($1, $2)
  ), writers AS (SELECT DISTINCT xid FROM r WHERE here AND xid <> '0'::xid)
  SELECT count(*)::text AS records, coalesce(sum(record_length), 0)::text AS bytes, coalesce(sum(fpi_length), 0)::text AS fpi
    FROM r WHERE here OR xid IN (SELECT xid FROM writers)`

/** Measures the WAL this database's work writes; where pg_walinspect cannot be used, every reading is undefined. */
export class DatabaseWalMeter {
  readonly #client: pg.Client | undefined
  /** Why readings are unavailable, or undefined when they are. */
  readonly unavailable: string | undefined
  #measured = 0

  private constructor(client: pg.Client | undefined, unavailable: string | undefined) {
    this.#client = client
    this.unavailable = unavailable
  }

  /** Connects to the database at `url` and installs pg_walinspect there (superuser or its owner only). */
  static async open(url: string): Promise<DatabaseWalMeter> {
    // One session of its own: the replication slot held during a measurement is temporary and
    // lives exactly as long as this session, so a crashed run leaves nothing behind.
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    client.on('error', () => undefined) // a DROP DATABASE … FORCE at the end may cut it off first
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_walinspect')
      // The end of a range must be flushed before pg_walinspect reads it (PostgreSQL 15 refuses
      // a "future" LSN); a commit of this session's flushes it (see #flushedEnd).
      await client.query('SET synchronous_commit = on')
      return new DatabaseWalMeter(client, undefined)
    } catch (error) {
      await client.end()
      return new DatabaseWalMeter(undefined, `pg_walinspect: ${(error as Error).message}`)
    }
  }

  /** Runs `work` from a fresh checkpoint and returns its result with the WAL this database wrote meanwhile. */
  async measure<T>(work: () => Promise<T>): Promise<{ value: T; wal: DatabaseWal | undefined }> {
    const client = this.#client
    if (!client) return { value: await work(), wal: undefined }
    const slot = `coordinate_bench_wal_${process.pid}_${++this.#measured}`
    // Reserves the WAL from here on until it is read, so no checkpoint recycles the range.
    await client.query('SELECT pg_create_physical_replication_slot($1, true, true)', [slot])
    try {
      // Each page's first change after a checkpoint carries a full-page image: starting every
      // loop right after one makes loops compare alike, instead of by when the last one ran.
      await client.query('CHECKPOINT')
      const start = await this.#lsn('pg_current_wal_insert_lsn()')
      const value = await work()
      const end = await this.#flushedEnd()
      const { rows } = await client.query<{ records: string; bytes: string; fpi: string }>(READ_RANGE_SQL, [start, end, ` rel [0-9]+/${await this.#databaseOid()}/`])
      const row = rows[0]
      return { value, wal: row && { records: Number(row.records), bytes: Number(row.bytes), fpiBytes: Number(row.fpi) } }
    } finally {
      // An error in this session has dropped the slot already (temporary slots go with it).
      await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot])
    }
  }

  /** Ends the meter's session. */
  async close(): Promise<void> {
    await this.#client?.end()
  }

  async #lsn(expression: string): Promise<string> {
    const { rows } = await this.#client!.query<{ lsn: string }>(`SELECT ${expression}::text AS lsn`)
    return rows[0]!.lsn
  }

  // The insert position now, flushed by a commit of our own that follows it: a transaction
  // that wrote WAL (a transactional message, no block reference, so not counted) commits
  // synchronously, so its commit record, later than the position, is on disk when it returns.
  // An xid alone would not do: a transaction that wrote nothing else commits asynchronously.
  async #flushedEnd(): Promise<string> {
    const end = await this.#lsn('pg_current_wal_insert_lsn()')
    await this.#client!.query("SELECT pg_logical_emit_message(true, 'coordinate-bench-wal', '')")
    return end
  }

  async #databaseOid(): Promise<string> {
    const { rows } = await this.#client!.query<{ oid: string }>('SELECT oid::text FROM pg_database WHERE datname = current_database()')
    return rows[0]!.oid
  }
}

/** WAL per unit of work, as "11.5 records, 1217 B (FPI 40 B)", or "n/a" without a reading. */
export function walPerUnit(wal: DatabaseWal | undefined, units: number): string {
  if (!wal || units === 0) return 'n/a'
  return `${(wal.records / units).toFixed(1)} records, ${Math.round(wal.bytes / units)} B (FPI ${Math.round(wal.fpiBytes / units)} B)`
}

/** Bytes of WAL per unit of one reading over another's, or undefined when either is missing. */
export function walRatio(ours: DatabaseWal | undefined, oursUnits: number, base: DatabaseWal | undefined, baseUnits: number): number | undefined {
  if (!ours || !base || oursUnits === 0 || baseUnits === 0 || base.bytes === 0) return undefined
  return ours.bytes / oursUnits / (base.bytes / baseUnits)
}
