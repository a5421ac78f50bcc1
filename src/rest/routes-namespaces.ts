import type { AttemptCompletion } from '../coordinate/api.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { optionalDataFromJson } from './data-json.js'
import { namespaceJson, summaryJson } from './representations.js'
import { bodyObject, stringField } from './request-input.js'
import { checkPlainName } from './names.js'
import { resource } from './resource.js'
import { type RouteContext, created, noContent, ok, paramsOf } from './route-context.js'
import { urls } from './urls.js'

const N = '/namespace/:ns'
// The path of an attempt inside a completion, as the API hands it out.
const ATTEMPT_PATH = /^\/namespace\/([^/]+)\/work_spec\/([^/]+)\/work_unit\/([^/]+)\/attempt\/([^/]+)$/
const MAX_COMPLETIONS = 10_000

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
  resource(app, `${N}/complete_attempts`, {
    POST: {
      handler: async (request, reply) => {
        const ns = await resolver.namespace(paramsOf(request))
        const list = bodyObject(request.body).completions
        if (!Array.isArray(list)) throw new InvalidInputError('"completions" must be a list')
        if (list.length > MAX_COMPLETIONS) throw new InvalidInputError(`at most ${MAX_COMPLETIONS} completions per request`)
        const completions: AttemptCompletion[] = []
        for (const [i, item] of list.entries()) {
          const c = bodyObject(item)
          const url = stringField(c.attempt_url, `completions[${i}].attempt_url`) ?? ''
          const parts = ATTEMPT_PATH.exec(url)
          if (parts === null) throw new InvalidInputError(`completions[${i}].attempt_url is not an attempt URL`)
          const [, nsPart, spec, unit, attempt] = parts
          const attemptNs = await resolver.namespace({ ns: nsPart! })
          if (attemptNs.name !== ns.name) throw new InvalidInputError(`completions[${i}] is an attempt of another namespace`)
          if (c.status !== 'finished' && c.status !== 'failed') throw new InvalidInputError(`completions[${i}].status must be "finished" or "failed"`)
          const completion: AttemptCompletion = {
            attempt: await resolver.attempt({ ns: nsPart!, spec: spec!, unit: unit!, attempt: attempt! }),
            status: c.status,
          }
          const data = optionalDataFromJson(c.data, `completions[${i}].data`)
          if (data !== undefined) completion.data = data
          completions.push(completion)
        }
        await ns.completeAttempts(completions)
        return noContent(reply)
      },
    },
  })
}
