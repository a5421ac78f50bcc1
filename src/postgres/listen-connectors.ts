import type { PGlite } from '@electric-sql/pglite'
import pg from 'pg'
import type { ListenConnector, ListenSession } from './change-listener.js'

/** LISTEN over a dedicated pg client (never a pooled one, which would drop the LISTEN on release). */
export function pgListenConnector(databaseUrl: string): ListenConnector {
  return async (channel, onPayload) => {
    const client = new pg.Client({ connectionString: databaseUrl, application_name: 'coordinate-listen' })
    let end: () => void = () => undefined
    const ended = new Promise<void>((resolve) => (end = resolve))
    client.on('error', () => end())
    client.on('end', () => end())
    client.on('notification', (message) => {
      if (message.channel === channel && message.payload !== undefined) onPayload(message.payload)
    })
    try {
      await client.connect()
      await client.query(`LISTEN "${channel}"`)
    } catch (error) {
      await client.end().catch(() => undefined)
      throw error
    }
    const session: ListenSession = {
      ended,
      close: async () => {
        await client.end().catch(() => undefined)
        end()
      },
    }
    return session
  }
}

/** LISTEN inside the embedded PGlite: only this process writes to it, so it never drops. */
export function pgliteListenConnector(pglite: () => PGlite): ListenConnector {
  return async (channel, onPayload) => {
    let end: () => void = () => undefined
    const ended = new Promise<void>((resolve) => (end = resolve))
    const unlisten = await pglite().listen(channel, onPayload)
    return {
      ended,
      close: async () => {
        await unlisten().catch(() => undefined)
        end()
      },
    }
  }
}
