import { describe, expect, it } from 'vitest'
import type { ChangeEvent } from '../../src/coordinate/change-feed.js'
import { type ListenSession, PostgresChangeFeed } from '../../src/postgres/change-listener.js'

/** A connector whose sessions end only when closed; it records every session it opened. */
function fakeConnector(): { connect: (channel: string, onPayload: (payload: string) => void) => Promise<ListenSession>; sessions: { open: boolean }[] } {
  const sessions: { open: boolean }[] = []
  const connect = async (): Promise<ListenSession> => {
    // Connecting takes a moment too.
    await new Promise((resolve) => setImmediate(resolve))
    const state = { open: true }
    sessions.push(state)
    let end!: () => void
    const ended = new Promise<void>((resolve) => (end = resolve))
    return {
      ended,
      close: async () => {
        // Closing takes a moment, as a real connection's does.
        await new Promise((resolve) => setImmediate(resolve))
        state.open = false
        end()
      },
    }
  }
  return { connect, sessions }
}

describe('the change feed, unsubscribed from and subscribed to again at once', () => {
  it('is ready only once its new session is up, and keeps one session, with no resync from the old one', async () => {
    const { connect, sessions } = fakeConnector()
    const feed = new PostgresChangeFeed(connect, 'channel')
    const first = feed.subscribe(() => undefined)
    await feed.ready()
    expect(sessions).toEqual([{ open: true }])

    const events: ChangeEvent[] = []
    first()
    const second = feed.subscribe((event) => events.push(event))
    await feed.ready()
    // The closing session is not taken for a live one: ready() waited for the new one.
    expect(sessions.length).toBe(2)
    expect(sessions[1]!.open).toBe(true)

    second()
    await feed.close()
    expect(sessions.map((s) => s.open)).toEqual([false, false])
    expect(events).toEqual([])
  })
})
