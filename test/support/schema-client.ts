import pg from 'pg'

/** Runs `fn` with a fresh client whose search_path is the Coordinate's schema, then closes it. */
export async function withSchemaClient<T>(url: string | undefined, fn: (client: pg.Client) => Promise<T>, schema = 'coordinate'): Promise<T> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}
