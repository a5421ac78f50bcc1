import type { VersionGuard } from '../coordinate/api.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { validatePriorityChange, validateVersionGuard, validateWorkSpecData } from '../coordinate/request-validation.js'
import { dataFromJson, dataToJson } from './data-json.js'
import { summaryJson, workSpecJson, workSpecMetaJson } from './representations.js'
import { bodyObject, numberField, workSpecMetaOf, workUnitMetaField, workUnitQueryOf } from './request-input.js'
import { resource } from './resource.js'
import { type RouteContext, created, noContent, ok, paramsOf, queryOf } from './route-context.js'
import { urls } from './urls.js'

/** The path of one work spec. */
export const S = '/namespace/:ns/work_spec/:spec'

/** The guard of a versioned write: `if_version`, when given. */
export function versionGuardOf(body: Record<string, unknown>): VersionGuard | undefined {
  const ifVersion = numberField(body.if_version, 'if_version')
  return ifVersion === undefined ? undefined : validateVersionGuard({ ifVersion })
}

/** The work spec routes: list and create, definition, meta, counts and priority changes. */
export function workSpecRoutes({ app, resolver }: RouteContext): void {
  resource(app, '/namespace/:ns/work_spec', {
    GET: {
      handler: async (request, reply) => {
        const ns = await resolver.namespace(paramsOf(request))
        const names = await ns.workSpecNames()
        return ok(reply, { work_specs: names.map((name) => ({ name, url: urls.workSpec(ns.name, name) })) })
      },
    },
    POST: {
      handler: async (request, reply) => {
        // Judged before the lookup, which creates a missing namespace.
        const data = validateWorkSpecData(dataFromJson(bodyObject(request.body).data, 'data'))
        const ns = await resolver.namespace(paramsOf(request))
        const spec = await ns.setWorkSpec(data)
        const url = urls.workSpec(ns.name, spec.name)
        return created(reply, url, { name: spec.name, url })
      },
    },
  })
  resource(app, S, {
    GET: { handler: async (request, reply) => ok(reply, await workSpecJson(await resolver.workSpec(paramsOf(request)))) },
    PUT: {
      handler: async (request, reply) => {
        const body = bodyObject(request.body)
        const data = validateWorkSpecData(dataFromJson(body.data, 'data'))
        const guard = versionGuardOf(body)
        const spec = await resolver.workSpec(paramsOf(request))
        const version = await spec.setData(data, guard)
        return ok(reply, { version })
      },
    },
    DELETE: {
      handler: async (request, reply) => {
        const params = paramsOf(request)
        const spec = await resolver.workSpec(params)
        await spec.namespace.destroyWorkSpec(spec.name)
        return noContent(reply)
      },
    },
  })
  resource(app, `${S}/snapshot`, {
    GET: {
      handler: async (request, reply) => {
        const snapshot = await (await resolver.workSpec(paramsOf(request))).snapshot()
        return ok(reply, { data: dataToJson(snapshot.data), meta: workSpecMetaJson(snapshot.meta), version: snapshot.version })
      },
    },
  })
  resource(app, `${S}/meta`, {
    GET: {
      handler: async (request, reply) => {
        const counts = queryOf(request).counts
        if (counts !== undefined && counts !== 'true' && counts !== 'false') throw new InvalidInputError('counts must be true or false')
        const spec = await resolver.workSpec(paramsOf(request))
        return ok(reply, workSpecMetaJson(await spec.meta({ withCounts: counts === 'true' })))
      },
    },
    PUT: {
      handler: async (request, reply) => {
        const meta = workSpecMetaOf(bodyObject(request.body))
        await (await resolver.workSpec(paramsOf(request))).setMeta(meta)
        return noContent(reply)
      },
    },
  })
  resource(app, `${S}/counts`, {
    GET: { handler: async (request, reply) => ok(reply, await (await resolver.workSpec(paramsOf(request))).countWorkUnitStatus()) },
  })
  resource(app, `${S}/summary`, {
    GET: { handler: async (request, reply) => ok(reply, summaryJson(await (await resolver.workSpec(paramsOf(request))).summarize())) },
  })
  for (const [path, apply] of [
    ['change', 'setWorkUnitPriorities'],
    ['adjust', 'adjustWorkUnitPriorities'],
  ] as const) {
    resource(app, `${S}/${path}`, {
      POST: {
        handler: async (request, reply) => {
          const query = workUnitQueryOf(queryOf(request))
          const priority = workUnitMetaField(bodyObject(request.body).meta)?.priority
          if (priority === undefined) throw new InvalidInputError(`${path} needs {"meta": {"priority": number}}`)
          validatePriorityChange(query, priority, path === 'change' ? 'a work unit priority' : 'a priority adjustment')
          const spec = await resolver.workSpec(paramsOf(request))
          return ok(reply, { count: await spec[apply](query, priority) })
        },
      },
    })
  }
}
