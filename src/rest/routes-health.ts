import type { Registry } from 'prom-client'
import { resource } from './resource.js'
import type { RouteContext } from './route-context.js'

/** One readiness check's outcome. */
export interface CheckResult {
  ok: boolean
  /** Why not, or what was found. */
  detail?: string
}

/** Runs the readiness checks (database, migrations, change feed…), each by name. */
export type ReadinessProbe = () => Promise<Record<string, CheckResult>>

/** /healthz (the process answers), /readyz (its dependencies work) and /metrics. */
export function healthRoutes({ app }: RouteContext, probe: ReadinessProbe | undefined, registry: Registry | undefined): void {
  resource(app, '/healthz', {
    GET: { config: { produces: 'any', public: true }, handler: async (_request, reply) => reply.type('application/json').send({ status: 'ok' }) },
  })
  resource(app, '/readyz', {
    GET: {
      config: { produces: 'any' },
      handler: async (_request, reply) => {
        const checks = probe === undefined ? {} : await probe().catch((error: unknown) => ({ probe: { ok: false, detail: String(error) } }))
        const failed = Object.entries(checks).filter(([, c]) => !c.ok)
        if (failed.length === 0) return reply.type('application/json').send({ status: 'ready', checks })
        const message = `not ready: ${failed.map(([name, c]) => `${name}${c.detail ? ` (${c.detail})` : ''}`).join(', ')}`
        return reply.code(503).type('application/json').send({ error: 'NOT_READY', message, value: checks })
      },
    },
  })
  if (registry !== undefined) {
    resource(app, '/metrics', {
      GET: {
        config: { produces: 'metrics' },
        handler: async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()),
      },
    })
  }
}
