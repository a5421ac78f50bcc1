import { InvalidInputError } from '../coordinate/errors.js'
import { optionalDataFromJson } from './data-json.js'
import { attemptJson } from './representations.js'
import { bodyObject, numberField } from './request-input.js'
import { resource } from './resource.js'
import { type RouteContext, noContent, ok, paramsOf } from './route-context.js'
import { U } from './routes-work-units.js'

/** The path of one attempt. */
export const A = `${U}/attempt/:attempt`

/** The attempt routes: read one, and its lease and completion transitions. */
export function attemptRoutes({ app, resolver }: RouteContext): void {
  resource(app, A, { GET: { handler: async (request, reply) => ok(reply, await attemptJson(await resolver.attempt(paramsOf(request)))) } })
  resource(app, `${A}/renew`, {
    POST: {
      handler: async (request, reply) => {
        const body = bodyObject(request.body)
        const extendMs = numberField(body.extend_ms, 'extend_ms')
        if (extendMs === undefined) throw new InvalidInputError('renew needs "extend_ms"')
        const data = optionalDataFromJson(body.data)
        await (await resolver.attempt(paramsOf(request))).renew(extendMs, data)
        return noContent(reply)
      },
    },
  })
  for (const action of ['expire', 'finish', 'fail'] as const) {
    resource(app, `${A}/${action}`, {
      POST: {
        handler: async (request, reply) => {
          const data = optionalDataFromJson(bodyObject(request.body).data)
          await (await resolver.attempt(paramsOf(request)))[action](data)
          return noContent(reply)
        },
      },
    })
  }
  resource(app, `${A}/retry`, {
    POST: {
      handler: async (request, reply) => {
        const body = bodyObject(request.body)
        const data = optionalDataFromJson(body.data)
        const delayMs = numberField(body.delay_ms, 'delay_ms')
        await (await resolver.attempt(paramsOf(request))).retry(data, delayMs)
        return noContent(reply)
      },
    },
  })
}
