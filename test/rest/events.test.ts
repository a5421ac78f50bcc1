import { afterAll, describe, expect, it } from 'vitest'
import { cacheCoordinate } from '../../src/cache/index.js'
import type { ChangeEvent } from '../../src/coordinate/change-feed.js'
import { restCoordinate, startRestServer } from '../../src/rest/index.js'
import { storeReadiness } from '../../src/rest/store-readiness.js'
import { send, startTestApi } from './support.js'

// Change events over server-sent events: what restCoordinate().changes() delivers, a cache
// kept current through them, the resync after a reconnection, and /readyz when the feed fails.
const api = await startTestApi({})
const client = restCoordinate(api.url)
afterAll(() => client.close())

/** Resolves with the first event `accept` takes. */
function nextEvent(feed: ReturnType<typeof client.changes>, accept: (e: ChangeEvent) => boolean): Promise<ChangeEvent> {
  return new Promise((resolve) => {
    const stop = feed.subscribe((event) => {
      if (!accept(event)) return
      stop()
      resolve(event)
    })
  })
}

describe('GET /events', () => {
  it('streams unit changes with their keys, as restCoordinate.changes() delivers them', async () => {
    const feed = client.changes()
    const seen = nextEvent(feed, (e) => e.kind === 'work-units' && e.namespace === 'sse')
    await feed.ready()
    const spec = await (await client.namespace('sse')).setWorkSpec({ name: 'spec' })
    await spec.addWorkUnit(Uint8Array.of(0, 255), {})
    expect(await seen).toEqual({ kind: 'work-units', namespace: 'sse', workSpec: 'spec', keys: [Uint8Array.of(0, 255)] })
  })

  it('filters by namespace when asked', async () => {
    const feed = client.changes({ namespaces: ['wanted'] })
    const seen: ChangeEvent[] = []
    const first = nextEvent(feed, () => true)
    feed.subscribe((event) => seen.push(event))
    await feed.ready()
    await (await client.namespace('other')).setWorkSpec({ name: 'spec' })
    await (await client.namespace('wanted')).setWorkSpec({ name: 'spec' })
    expect(await first).toEqual({ kind: 'work-spec', namespace: 'wanted', workSpec: 'spec' })
    expect(seen.every((e) => e.kind === 'resync' || e.namespace === 'wanted')).toBe(true)
    await feed.close()
  })

  it('refuses clients that do not accept text/event-stream', async () => {
    expect((await send(api.url, 'GET', '/events', { headers: { accept: 'application/json' } })).status).toBe(406)
  })

  it('keeps a cache over restCoordinate current with writes made elsewhere', async () => {
    const remote = restCoordinate(api.url)
    const changes = remote.changes()
    const cache = cacheCoordinate(remote, { changes, closeBackend: true })
    try {
      await changes.ready()
      const spec = await (await cache.namespace('remote-cache')).setWorkSpec({ name: 'spec' })
      const unit = await spec.addWorkUnit('u', { v: 1 })
      expect(await unit.data()).toEqual({ v: 1 })
      // Written straight to the database, past the REST server and this cache.
      const changed = nextEvent(changes, (e) => e.kind === 'work-units' && e.namespace === 'remote-cache')
      await (await (await api.coordinate.namespace('remote-cache')).workSpec('spec')).addWorkUnit('u', { v: 2 })
      await changed
      await expect.poll(() => unit.data()).toEqual({ v: 2 })
    } finally {
      await cache.close()
    }
  })

  it('emits resync after the stream reconnects (events meanwhile are lost)', async () => {
    const first = await startRestServer({ coordinate: api.cache, changes: api.coordinate.changes(), host: '127.0.0.1', port: 0 })
    const port = first.address.port
    const remote = restCoordinate(first.url)
    const feed = remote.changes()
    const resync = nextEvent(feed, (e) => e.kind === 'resync')
    await feed.ready()
    await first.close()
    const second = await startRestServer({ coordinate: api.cache, changes: api.coordinate.changes(), host: '127.0.0.1', port })
    try {
      expect(await resync).toEqual({ kind: 'resync' })
    } finally {
      await remote.close()
      await second.close()
    }
  })
})

describe('GET /readyz', () => {
  it('answers 503 naming the failed check when the change feed is down', async () => {
    const observability = api.coordinate.observability()
    const server = await startRestServer({ coordinate: api.cache, readiness: storeReadiness(observability), host: '127.0.0.1', port: 0 })
    try {
      await api.coordinate.changes().close()
      const answer = await send(server.url, 'GET', '/readyz')
      expect(answer.status).toBe(503)
      expect(answer.body).toMatchObject({
        error: 'NOT_READY',
        message: expect.stringContaining('change_feed'),
        value: { database: { ok: true }, migrations: { ok: true }, change_feed: { ok: false } },
      })
    } finally {
      await server.close()
    }
  })
})
