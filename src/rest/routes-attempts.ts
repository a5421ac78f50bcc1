import type { Attempt } from '../coordinate/api.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { validateRenewal, validateRetry } from '../coordinate/request-validation.js'
import type { DaemonMetrics } from './daemon-metrics.js'
import { optionalDataFromJson } from './data-json.js'
import { attemptJson } from './representations.js'
import { bodyObject, numberField } from './request-input.js'
import { resource } from './resource.js'
import { type RouteContext, noContent, ok, paramsOf } from './route-context.js'
import { U } from './routes-work-units.js'

/** The path of one attempt. */
export const A = `${U}/attempt/:attempt`

/** Counts a finish or fail made through the API. */
export function countCompletion(metrics: DaemonMetrics | undefined, attempt: Attempt, status: 'finished' | 'failed'): void {
  const spec = attempt.workUnit.workSpec
  metrics?.[status].inc({ namespace: spec.namespace.name, work_spec: spec.name })
}

/** The attempt routes: read one, and its lease and completion transitions. */
export function attemptRoutes({ app, resolver, metrics }: RouteContext): void {
  resource(app, A, { GET: { handler: async (request, reply) => ok(reply, await attemptJson(await resolver.attempt(paramsOf(request)))) } })
  resource(app, `${A}/renew`, {
    POST: {
      handler: async (request, reply) => {
        const body = bodyObject(request.body)
        const extendMs = numberField(body.extend_ms, 'extend_ms')
        if (extendMs === undefined) throw new InvalidInputError('renew needs "extend_ms"')
        const data = optionalDataFromJson(body.data)
        validateRenewal(extendMs, data)
        await (await resolver.attempt(paramsOf(request))).renew(extendMs, data)
        return noContent(reply)
      },
    },
  })
  for (const action of ['expire', 'finish', 'fail'] as const) {
    resource(app, `${A}/${action}`, {
      POST: {
        handler: async (request, reply) => {
          const data = optionalDataFromJson(bodyObject(request.body).data, 'data', 'data')
          const attempt = await resolver.attempt(paramsOf(request))
          await attempt[action](data)
          if (action !== 'expire') countCompletion(metrics, attempt, action === 'finish' ? 'finished' : 'failed')
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
        validateRetry(data, delayMs)
        await (await resolver.attempt(paramsOf(request))).retry(data, delayMs)
        return noContent(reply)
      },
    },
  })
}
