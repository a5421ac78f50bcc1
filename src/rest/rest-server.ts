import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Coordinate } from '../coordinate/api.js'
import { type Clock, systemClock } from '../coordinate/clock.js'
import type { DaemonMetrics } from './daemon-metrics.js'
import { type HttpAppOptions, createHttpApp } from './http-app.js'
import { Resolver } from './resolver.js'
import type { RouteContext } from './route-context.js'
import { attemptRoutes } from './routes-attempts.js'
import { bulkAttemptRoutes } from './routes-bulk-attempts.js'
import { type ServedChangeFeed, eventRoutes } from './routes-events.js'
import { type ReadinessProbe, healthRoutes } from './routes-health.js'
import { namespaceRoutes } from './routes-namespaces.js'
import { workSpecRoutes } from './routes-work-specs.js'
import { workUnitRoutes } from './routes-work-units.js'
import { workerRoutes } from './routes-workers.js'
import { type DashboardOptions, dashboardAndUi } from './ui-routes.js'

/** What the REST server serves and how. */
export interface RestAppOptions extends HttpAppOptions {
  /** The Coordinate behind the API (the daemon's cache). */
  coordinate: Coordinate
  /** The clock unit statuses are derived with; give the Coordinate's (default: system clock). */
  clock?: Clock
  /** Served at /events as server-sent events; without it /events answers 404. */
  changes?: ServedChangeFeed
  /** /readyz's checks; without them /readyz is always ready. */
  readiness?: ReadinessProbe
  /** Served at /metrics, and told of every request, claim and completion; without it there is no /metrics. */
  metrics?: DaemonMetrics
  /** Shown at `/`. */
  version?: string
  /** The dashboard under /ui/ and its /dashboard routes. */
  dashboard?: DashboardOptions
}

/** The REST API as a Fastify app (not listening), plus a function ending its event streams. */
export async function createRestApp(options: RestAppOptions): Promise<{ app: FastifyInstance; endStreams: () => void }> {
  const metrics = options.metrics
  const app = await createHttpApp(metrics ? { ...options, onAnswered: (...args) => metrics.observeHttp(...args) } : options)
  const ctx: RouteContext = {
    app,
    coordinate: options.coordinate,
    resolver: new Resolver(options.coordinate),
    clock: options.clock ?? systemClock,
    version: options.version ?? 'unknown',
    ...(metrics ? { metrics } : {}),
  }
  namespaceRoutes(ctx)
  bulkAttemptRoutes(ctx)
  workSpecRoutes(ctx)
  workUnitRoutes(ctx)
  attemptRoutes(ctx)
  workerRoutes(ctx)
  healthRoutes(ctx, options.readiness, metrics?.registry)
  const endStreams = eventRoutes(ctx, options.changes)
  await dashboardAndUi(ctx, options.dashboard, options.changes)
  return { app, endStreams }
}

/** A listening REST server. */
export interface RestServer {
  readonly address: { host: string; port: number }
  /** `http://host:port` of the listening socket. */
  readonly url: string
  /** Stops accepting, ends event streams, waits for running requests (at most `timeoutMs`, default 10 s). Idempotent. */
  close(timeoutMs?: number): Promise<void>
}

/** Starts the REST API listening on host:port (port 0 picks a free one). */
export async function startRestServer(options: RestAppOptions & { host: string; port: number }): Promise<RestServer> {
  const { app, endStreams } = await createRestApp({ ...options, boundHost: options.boundHost ?? options.host })
  await app.listen({ host: options.host, port: options.port })
  const info = app.server.address() as AddressInfo
  const address = { host: options.host, port: info.port }
  const hostPart = address.host.includes(':') ? `[${address.host}]` : address.host
  let closing: Promise<void> | undefined
  return {
    address,
    url: `http://${hostPart}:${address.port}`,
    close: (timeoutMs = 10_000) => (closing ??= closeGracefully(app, endStreams, timeoutMs)),
  }
}

async function closeGracefully(app: FastifyInstance, endStreams: () => void, timeoutMs: number): Promise<void> {
  endStreams()
  const closed = app.close()
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), timeoutMs)
  })
  // Requests still running at the deadline lose their connections; the store is about to close.
  if (await Promise.race([closed.then(() => false), late])) app.server.closeAllConnections()
  clearTimeout(timer)
  await closed
}
