import type { DashboardQueries } from '../postgres/dashboard-queries.js'
import type { ChangeFeed } from '../coordinate/change-feed.js'
import { InvalidInputError } from '../coordinate/errors.js'
import type { WorkUnitStatus } from '../coordinate/status.js'
import {
  type DashboardSources,
  MAX_RETRY_KEYS,
  overview,
  retryUnits,
  specDetail,
  unitDetail,
  unitPage,
  workersPage,
} from './dashboard-data.js'
import { decodeKey, decodeName } from './names.js'
import { bodyObject } from './request-input.js'
import { resource } from './resource.js'
import { type RouteContext, ok, paramsOf, queryOf } from './route-context.js'
import { SharedReads } from './shared-reads.js'

// The dashboard's read routes (aggregates the REST resources do not offer) and its bulk retry.
// They sit behind the same host and token checks as every other route.

const D = '/dashboard/namespace/:ns/work_spec/:spec'
// How long an overview or spec summary is shared between dashboards. Short enough that counts
// still change within a second of a write.
const SHARED_MS = 250
const DEFAULT_PAGE = 50

/**
 * Registers the /dashboard routes. With the change feed the server streams at /events, shared
 * summaries are dropped on every change before any stream tells a browser of it.
 */
export function dashboardRoutes(ctx: RouteContext, queries: DashboardQueries, changes?: ChangeFeed): void {
  const { app } = ctx
  const sources: DashboardSources = { coordinate: ctx.coordinate, queries, clock: ctx.clock }
  const shared = new SharedReads<unknown>(SHARED_MS)
  if (changes !== undefined) {
    // Subscribed now, before any /events stream, so the feed calls this listener first.
    const stopSharing = changes.subscribe(() => shared.clear())
    app.addHook('onClose', async () => stopSharing())
  }
  const names = (params: ReturnType<typeof paramsOf>): [string, string] => [decodeName(params.ns ?? '', 'namespace name'), decodeName(params.spec ?? '', 'work spec name')]

  resource(app, '/dashboard/overview', {
    GET: { handler: async (_request, reply) => ok(reply, await shared.get('overview', () => overview(sources))) },
  })
  resource(app, D, {
    GET: {
      handler: async (request, reply) => {
        const [ns, spec] = names(paramsOf(request))
        return ok(reply, await shared.get(`spec\0${ns}\0${spec}`, () => specDetail(sources, ns, spec)))
      },
    },
  })
  resource(app, `${D}/units`, {
    GET: {
      handler: async (request, reply) => {
        const [ns, spec] = names(paramsOf(request))
        const query = queryOf(request)
        return ok(
          reply,
          await unitPage(sources, ns, spec, {
            statuses: list(query.status).filter((s) => s !== 'any') as WorkUnitStatus[],
            prefix: single(query.prefix, 'prefix'),
            sort: single(query.sort, 'sort'),
            after: single(query.after, 'after'),
            limit: pageLimit(query.limit),
          }),
        )
      },
    },
  })
  resource(app, `${D}/work_unit/:unit`, {
    GET: {
      handler: async (request, reply) => {
        const params = paramsOf(request)
        const [ns, spec] = names(params)
        return ok(reply, await unitDetail(sources, ns, spec, decodeKey(params.unit ?? '', 'work unit key')))
      },
    },
  })
  resource(app, `${D}/retry`, {
    POST: {
      handler: async (request, reply) => {
        const [ns, spec] = names(paramsOf(request))
        const body = bodyObject(request.body)
        let keys: Uint8Array[] | undefined
        if (body.keys !== undefined) {
          if (!Array.isArray(body.keys) || body.keys.length > MAX_RETRY_KEYS) throw new InvalidInputError(`keys must be a list of at most ${MAX_RETRY_KEYS} encoded keys`)
          keys = body.keys.map((k) => decodeKey(typeof k === 'string' ? k : '', 'work unit key'))
        }
        return ok(reply, { retried: await retryUnits(sources, ns, spec, keys) })
      },
    },
  })
  resource(app, '/dashboard/namespace/:ns/workers', {
    GET: {
      handler: async (request, reply) => ok(reply, await workersPage(sources, decodeName(paramsOf(request).ns ?? '', 'namespace name'))),
    },
  })
}

function list(value: unknown): string[] {
  if (value === undefined) return []
  return (Array.isArray(value) ? value : [value]).map(String)
}

function single(value: unknown, field: string): string {
  if (value === undefined) return ''
  if (typeof value !== 'string') throw new InvalidInputError(`${field} must be given once`)
  return value
}

function pageLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_PAGE
  const limit = Number(single(value, 'limit'))
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new InvalidInputError('limit must be a whole number from 1 to 1000')
  return limit
}
