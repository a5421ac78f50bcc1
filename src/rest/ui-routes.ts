import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import Negotiator from 'negotiator'
import type { ChangeFeed } from '../coordinate/change-feed.js'
import type { DashboardQueries } from '../postgres/dashboard-queries.js'
import { dashboardRoutes } from './dashboard-routes.js'
import type { RouteConfig } from './http-app.js'
import type { RouteContext } from './route-context.js'

// The dashboard's static files, built ahead of time by `npm run build` into dist/ui, served
// under /ui/. They are public: the page must load to ask for the token, and holds no data.
// Any /ui/ path that is not a file gets index.html, so every page URL can be loaded directly.

/** Where the built dashboard is: dist/ui beside the package's package.json. */
export function defaultUiDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  return join(dir, 'dist', 'ui')
}

const PUBLIC: RouteConfig = { public: true, produces: 'any' }
// Vite puts a content hash in every asset's name, so they never change under one URL.
const YEAR_MS = 365 * 24 * 3600 * 1000

/** Serves the dashboard under /ui/ and sends browsers asking for `/` there; no-op if it was never built. */
export async function uiRoutes({ app }: RouteContext, dir = defaultUiDir()): Promise<void> {
  const indexFile = join(dir, 'index.html')
  if (!existsSync(indexFile)) {
    app.log.warn({ dir }, 'the dashboard is not built (run npm run build); /ui/ is not served')
    return
  }
  const index = readFileSync(indexFile)
  await app.register(fastifyStatic, { root: dir, serve: false, decorateReply: true })
  const sendIndex = (reply: FastifyReply): FastifyReply =>
    reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-cache').header('Content-Security-Policy', "default-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'").send(index)
  app.get('/ui', { config: PUBLIC }, async (_request, reply) => reply.redirect('/ui/'))
  app.get('/ui/', { config: PUBLIC }, async (_request, reply) => sendIndex(reply))
  app.get('/ui/*', { config: PUBLIC }, async (request, reply) => {
    const path = (request.params as { '*': string })['*']
    if (path.startsWith('assets/') && existsSync(join(dir, path))) return reply.sendFile(path, { maxAge: YEAR_MS, immutable: true })
    return sendIndex(reply)
  })
  redirectBrowsersAtRoot(app)
}

// `/` is the API's root document; only a request that prefers HTML to JSON (a browser's
// address bar) is redirected. A route constraint picks this route for those requests alone,
// before the token check, so a browser reaches the page that asks for the token.
function redirectBrowsersAtRoot(app: FastifyInstance): void {
  app.addConstraintStrategy({
    name: 'wantsHtml',
    storage() {
      const routes = new Map<string, unknown>()
      return {
        get: (value: string) => (routes.get(value) ?? null) as never,
        set: (value: string, store: unknown) => void routes.set(value, store),
      }
    },
    deriveConstraint: (request: FastifyRequest['raw']) => (prefersHtml(request.headers.accept) ? 'yes' : 'no'),
    mustMatchWhenDerived: false,
  })
  app.get('/', { config: PUBLIC, constraints: { wantsHtml: 'yes' } }, async (_request, reply) => reply.redirect('/ui/'))
}

function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined || accept === '') return false
  return new Negotiator({ headers: { accept } }).mediaType(['application/json', 'text/html']) === 'text/html'
}

/** What the dashboard needs from the server's owner. */
export interface DashboardOptions {
  /** The Postgres queries behind the dashboard's listings and statistics. */
  queries: DashboardQueries
  /** The built front end (default: dist/ui of this package). */
  uiDir?: string
}

/** Registers the dashboard: its static files under /ui/ and its /dashboard routes (fresh after each change in `changes`). */
export async function dashboardAndUi(ctx: RouteContext, options: DashboardOptions | undefined, changes?: ChangeFeed): Promise<void> {
  if (options === undefined) return
  dashboardRoutes(ctx, options.queries, changes)
  await uiRoutes(ctx, options.uiDir)
}
