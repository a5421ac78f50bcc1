import { InvalidInputError } from '../coordinate/errors.js'
import { namespaceJson, summaryJson } from './representations.js'
import { bodyObject, stringField } from './request-input.js'
import { checkPlainName } from './names.js'
import { resource } from './resource.js'
import { type RouteContext, created, noContent, ok, paramsOf } from './route-context.js'
import { urls } from './urls.js'

const N = '/namespace/:ns'

/** The root, the summary and the namespace routes. */
export function namespaceRoutes({ app, coordinate, resolver, version }: RouteContext): void {
  resource(app, '/', {
    GET: {
      handler: async (_request, reply) =>
        ok(reply, {
          url: '/',
          summary_url: '/summary',
          namespaces_url: urls.namespaces(),
          namespace_url: '/namespace/{namespace}',
          events_url: '/events',
          metrics_url: '/metrics',
          version,
        }),
    },
  })
  resource(app, '/summary', { GET: { handler: async (_request, reply) => ok(reply, summaryJson(await coordinate.summarize())) } })
  resource(app, '/namespace', {
    GET: {
      handler: async (_request, reply) => {
        const all = await coordinate.namespaces()
        return ok(reply, { namespaces: all.map((ns) => ({ name: ns.name, url: urls.namespace(ns.name) })) })
      },
    },
    POST: {
      handler: async (request, reply) => {
        const name = stringField(bodyObject(request.body).name, 'name')
        if (name === undefined) throw new InvalidInputError('a new namespace needs a "name"')
        const ns = await coordinate.namespace(checkPlainName(name, 'namespace name'))
        return created(reply, urls.namespace(ns.name), { name: ns.name, url: urls.namespace(ns.name) })
      },
    },
  })
  resource(app, N, {
    GET: { handler: async (request, reply) => ok(reply, namespaceJson(await resolver.namespace(paramsOf(request)))) },
    DELETE: {
      handler: async (request, reply) => {
        await (await resolver.namespace(paramsOf(request))).destroy()
        return noContent(reply)
      },
    },
  })
  resource(app, `${N}/summary`, {
    GET: { handler: async (request, reply) => ok(reply, summaryJson(await (await resolver.namespace(paramsOf(request))).summarize())) },
  })
}
