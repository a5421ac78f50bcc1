import { createHash } from 'node:crypto'
import type pg from 'pg'

const names = new Map<string, string>()

/** A stable prepared-statement name for a statement text. */
export function statementName(text: string): string {
  let name = names.get(text)
  if (name === undefined) {
    name = `coordinate_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`
    names.set(text, name)
  }
  return name
}

type QueryFn = (config: unknown, values?: unknown, callback?: unknown) => unknown

/**
 * Makes a pooled client run every parameterised query as a named prepared statement. Our
 * statements are a fixed set of templates, and planning the claim and completion statements
 * cost as much as running them; prepared, each is planned once per connection.
 */
export function usePreparedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as QueryFn
  const prepared: QueryFn = (config, values, callback) => {
    if (typeof config === 'string' && Array.isArray(values) && values.length > 0) {
      return query({ name: statementName(config), text: config, values }, callback)
    }
    return query(config, values, callback)
  }
  client.query = prepared as typeof client.query
}
