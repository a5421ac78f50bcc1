import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, HTTPMethods } from 'fastify'
import { HttpError } from './errors.js'
import type { RouteConfig } from './http-app.js'

/** One method of a resource: its handler, optional schema and route config. */
export interface MethodSpec {
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
  schema?: FastifySchema
  config?: RouteConfig
}

const METHODS: readonly HTTPMethods[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH']

/**
 * Registers the given methods of one URL, and answers every other method there with 405 and
 * an Allow header (Fastify alone would say 404, which reads as "no such resource").
 */
export function resource(app: FastifyInstance, url: string, methods: Partial<Record<'GET' | 'POST' | 'PUT' | 'DELETE', MethodSpec>>): void {
  const allowed = Object.keys(methods) as HTTPMethods[]
  for (const method of allowed) {
    const spec = methods[method as keyof typeof methods]!
    app.route({
      method,
      url,
      handler: spec.handler,
      ...(spec.schema ? { schema: spec.schema } : {}),
      config: spec.config ?? {},
    })
  }
  const others = METHODS.filter((m) => !allowed.includes(m))
  const allow = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])].join(', ')
  app.route({
    method: others,
    url,
    config: { produces: 'any' } satisfies RouteConfig,
    handler: async (request, reply) => {
      void reply.header('Allow', allow)
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; use ${allow}`)
    },
  })
}
