import pg from 'pg'

/**
 * Every row of the Coordinate's tables (namespaces, specs, units, attempts, workers) as JSON,
 * read in one statement on a connection of its own: the truth the property tests compare
 * before and after a call that failed. Column-agnostic (to_jsonb), so schema changes need no edit.
 */
export class DatabaseSnapshots {
  readonly #client: pg.Client

  private constructor(client: pg.Client) {
    this.#client = client
  }

  /** Connects to the database at `url` with the Coordinate's schema on the search path. */
  static async open(url: string | undefined, schema = 'coordinate'): Promise<DatabaseSnapshots> {
    const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` })
    await client.connect()
    return new DatabaseSnapshots(client)
  }

  /** All rows, each table ordered by id. */
  async take(): Promise<unknown> {
    const { rows } = await this.#client.query<{ snapshot: unknown }>(`
      SELECT jsonb_build_object(
        'namespace', (SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM namespace t),
        'work_spec', (SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM work_spec t),
        'work_unit', (SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM work_unit t),
        'attempt', (SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM attempt t),
        'worker', (SELECT jsonb_agg(to_jsonb(t) ORDER BY t.id) FROM worker t)
      ) AS snapshot`)
    return rows[0]?.snapshot
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#client.end()
  }
}
