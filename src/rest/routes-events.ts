import type { ServerResponse } from 'node:http'
import type { ChangeEvent, ChangeFeed } from '../coordinate/change-feed.js'
import { HttpError } from './errors.js'
import { encodeName } from './names.js'
import { resource } from './resource.js'
import { type RouteContext, queryOf } from './route-context.js'

/** A change feed that can tell when it is live (PostgresChangeFeed can). */
export type ServedChangeFeed = ChangeFeed & { ready?: () => Promise<void> }

const KEEPALIVE_MS = 15_000
// A client this far behind is dropped rather than buffered without bound; it reconnects and
// resyncs, which is what it would have to do after losing events anyway.
const MAX_BUFFERED_BYTES = 1024 * 1024

/** A change event as the JSON of one SSE `change` frame. */
export function changeEventJson(event: ChangeEvent): Record<string, unknown> {
  switch (event.kind) {
    case 'work-units':
      return { kind: event.kind, namespace: event.namespace, work_spec: event.workSpec, keys: event.keys?.map((k) => encodeName(k)) ?? null }
    case 'work-spec':
      return { kind: event.kind, namespace: event.namespace, work_spec: event.workSpec }
    case 'namespace':
      return { kind: event.kind, namespace: event.namespace }
    case 'resync':
      return { kind: event.kind }
  }
}

/** Serves a change feed as server-sent events; returns a function that ends every open stream. */
export function eventRoutes({ app }: RouteContext, feed: ServedChangeFeed | undefined): () => void {
  const open = new Set<ServerResponse>()
  resource(app, '/events', {
    GET: {
      config: { produces: 'event-stream' },
      handler: async (request, reply) => {
        if (feed === undefined) throw new HttpError(404, 'NOT_FOUND', 'this server has no change feed to stream')
        const q = queryOf(request).namespace
        const namespaces = q === undefined ? undefined : new Set(Array.isArray(q) ? q.map(String) : [String(q)])
        reply.hijack()
        const res = reply.raw
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' })
        open.add(res)
        const send = (frame: string): void => {
          if (res.writableLength > MAX_BUFFERED_BYTES) {
            res.destroy()
            return
          }
          res.write(frame)
        }
        const unsubscribe = feed.subscribe((event) => {
          if (namespaces !== undefined && event.kind !== 'resync' && !namespaces.has(event.namespace)) return
          send(`event: change\ndata: ${JSON.stringify(changeEventJson(event))}\n\n`)
        })
        const keepalive = setInterval(() => send(': keepalive\n\n'), KEEPALIVE_MS)
        res.on('close', () => {
          clearInterval(keepalive)
          unsubscribe()
          open.delete(res)
        })
        await feed.ready?.()
        send('event: ready\ndata: {}\n\n')
      },
    },
  })
  return () => {
    for (const res of open) res.end()
  }
}
