import type { WorkerUpdate } from '../coordinate/api.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { validateWorkerUpdate } from '../coordinate/request-validation.js'
import { optionalDataFromJson } from './data-json.js'
import { attemptJson, attemptUrl, claimedAttemptJson, workerJson, workerShortJson } from './representations.js'
import { attemptRequestOf, bodyObject, booleanField, limitOf, numberField, stringField, timeField } from './request-input.js'
import { checkPlainName, decodeKey, decodeName, encodeName } from './names.js'
import { resource } from './resource.js'
import { type RouteContext, created, noContent, ok, paramsOf, queryOf } from './route-context.js'
import { DEFAULT_PAGE, MAX_PAGE } from './routes-work-units.js'
import { versionGuardOf } from './routes-work-specs.js'

const W = '/namespace/:ns/worker/:worker'

/** The worker routes: list, read and update, claims, and attempt lists. */
export function workerRoutes({ app, resolver, metrics }: RouteContext): void {
  resource(app, '/namespace/:ns/worker', {
    GET: {
      handler: async (request, reply) => {
        const q = queryOf(request)
        const limit = Math.min(limitOf(q.limit) ?? DEFAULT_PAGE, MAX_PAGE)
        const previous = q.previous === undefined ? undefined : decodeName(String(q.previous), 'previous')
        const ns = await resolver.namespace(paramsOf(request))
        // Sorted by name; keyset paging on the name like the unit listing.
        const all = await ns.workers()
        const page = all.filter((w) => previous === undefined || w.name > previous).slice(0, limit)
        const last = page.at(-1)
        return ok(reply, {
          workers: await Promise.all(page.map(workerShortJson)),
          next: page.length === limit && last !== undefined && last !== all.at(-1) ? encodeName(last.name) : null,
        })
      },
    },
  })
  resource(app, W, {
    GET: { handler: async (request, reply) => ok(reply, await workerJson(await resolver.worker(paramsOf(request)))) },
    PUT: {
      handler: async (request, reply) => {
        const body = bodyObject(request.body)
        // The whole body is judged before the lookup, which creates a missing worker and
        // namespace, and before the first change: a refused request leaves everything as it was.
        const parent = 'parent' in body ? (body.parent === null ? null : checkPlainName(stringField(body.parent, 'parent')!, 'parent')) : undefined
        const active = booleanField(body.active, 'active')
        const update = active === true ? workerUpdateOf(body) : undefined
        const worker = await resolver.worker(paramsOf(request))
        if (parent !== undefined) await worker.setParent(parent === null ? null : await worker.namespace.worker(parent))
        if (active === false) await worker.deactivate()
        if (update !== undefined) await worker.update(update)
        return noContent(reply)
      },
    },
  })
  resource(app, `${W}/request_attempts`, {
    POST: {
      handler: async (request, reply) => {
        const attemptRequest = attemptRequestOf(bodyObject(request.body))
        const worker = await resolver.worker(paramsOf(request))
        const attempts = await worker.requestAttempts(attemptRequest)
        const first = attempts[0]
        if (first !== undefined) metrics?.claimed.inc({ namespace: worker.namespace.name, work_spec: first.workUnit.workSpec.name }, attempts.length)
        return ok(reply, {
          work_spec_url: first === undefined ? null : attemptUrl(first).replace(/\/work_unit\/.*$/, ''),
          attempts: attempts.map((a) => claimedAttemptJson(resolver.remember(a))),
        })
      },
    },
  })
  resource(app, `${W}/make_attempt`, {
    POST: {
      handler: async (request, reply) => {
        const body = bodyObject(request.body)
        const specName = stringField(body.work_spec, 'work_spec')
        const unitKey = stringField(body.work_unit, 'work_unit')
        if (specName === undefined || unitKey === undefined) throw new InvalidInputError('make_attempt needs "work_spec" (name) and "work_unit" (encoded key)')
        const spec = checkPlainName(specName, 'work_spec')
        const key = decodeKey(unitKey, 'work_unit')
        const lifetimeMs = numberField(body.lifetime_ms, 'lifetime_ms')
        const guard = versionGuardOf(body)
        const worker = await resolver.worker(paramsOf(request))
        const unit = await (await worker.namespace.workSpec(spec)).workUnit(key)
        const attempt = resolver.remember(await worker.makeAttempt(unit, lifetimeMs, guard))
        return created(reply, attemptUrl(attempt), await attemptJson(attempt))
      },
    },
  })
  for (const [path, list] of [
    ['active_attempts', 'activeAttempts'],
    ['all_attempts', 'allAttempts'],
    ['child_attempts', 'childAttempts'],
  ] as const) {
    resource(app, `${W}/${path}`, {
      GET: {
        handler: async (request, reply) => {
          const attempts = await (await resolver.worker(paramsOf(request)))[list]()
          return ok(reply, { attempts: await Promise.all(attempts.map((a) => attemptJson(resolver.remember(a)))) })
        },
      },
    })
  }
}

function workerUpdateOf(body: Record<string, unknown>): WorkerUpdate {
  const update: WorkerUpdate = {}
  const data = optionalDataFromJson(body.data)
  if (data !== undefined) update.data = data
  const now = timeField(body.last_update, 'last_update')
  if (now) update.now = now
  const expiration = timeField(body.expiration, 'expiration')
  if (expiration) update.expiration = expiration
  const mode = stringField(body.mode, 'mode')
  if (mode !== undefined) update.mode = mode
  return validateWorkerUpdate(update)
}

