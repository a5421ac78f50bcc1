import type { Attempt, AttemptCompletion, AttemptRenewal, RenewalOutcome } from '../coordinate/api.js'
import { GoneError, InvalidInputError, NoSuchWorkSpecError, NoSuchWorkUnitError } from '../coordinate/errors.js'
import { validateAttemptCompletions, validateRenewal } from '../coordinate/request-validation.js'
import { READ_PARALLELISM, mapLimit } from '../coordinate/map-limit.js'
import { optionalDataFromJson } from './data-json.js'
import { decodeName } from './names.js'
import { bodyObject, numberField, stringField } from './request-input.js'
import type { PathParams, Resolver } from './resolver.js'
import { resource } from './resource.js'
import { countCompletion } from './routes-attempts.js'
import { type RouteContext, noContent, ok, paramsOf } from './route-context.js'

const N = '/namespace/:ns'
// The path of an attempt inside a bulk request, as the API hands it out.
const ATTEMPT_PATH = /^\/namespace\/([^/]+)\/work_spec\/([^/]+)\/work_unit\/([^/]+)\/attempt\/([^/]+)$/
const MAX_ITEMS = 10_000

/** The bulk attempt routes: complete_attempts (all or nothing) and renew_attempts (one outcome each). */
export function bulkAttemptRoutes({ app, resolver, metrics }: RouteContext): void {
  resource(app, `${N}/complete_attempts`, {
    POST: {
      handler: async (request, reply) => {
        const nsName = resolver.namespaceName(paramsOf(request))
        // The whole body is read before anything is looked up: bad input anywhere costs no reads
        // and creates no namespace.
        const seen = new Set<string>()
        const items = bulkItems(request.body, 'completions').map((c, i) => {
          const field = `completions[${i}]`
          if (c.status !== 'finished' && c.status !== 'failed') throw new InvalidInputError(`${field}.status must be "finished" or "failed"`)
          const { path, identity } = attemptOf(resolver, nsName, c.attempt_url, field)
          const data = optionalDataFromJson(c.data, `${field}.data`, `completion ${i} data`)
          // A repeat shows in the paths, so it is refused before any lookup, in the backend's words.
          if (seen.has(identity)) throw new InvalidInputError('the same attempt is completed twice')
          seen.add(identity)
          return { path, status: c.status as AttemptCompletion['status'], data }
        })
        const ns = await resolver.namespace(paramsOf(request))
        const completions = await mapLimit(items, READ_PARALLELISM, async ({ path, status, data }) => {
          const completion: AttemptCompletion = { attempt: await resolver.attempt(path), status }
          if (data !== undefined) completion.data = data
          return completion
        })
        await ns.completeAttempts(validateAttemptCompletions(completions))
        for (const c of completions) countCompletion(metrics, c.attempt, c.status)
        return noContent(reply)
      },
    },
  })
  resource(app, `${N}/renew_attempts`, {
    POST: {
      handler: async (request, reply) => {
        const nsName = resolver.namespaceName(paramsOf(request))
        const items = bulkItems(request.body, 'renewals').map((r, i) => {
          const field = `renewals[${i}]`
          const extendMs = numberField(r.extend_ms, `${field}.extend_ms`)
          if (extendMs === undefined) throw new InvalidInputError(`${field} needs "extend_ms"`)
          const data = optionalDataFromJson(r.data, `${field}.data`)
          validateRenewal(extendMs, data)
          return { path: attemptOf(resolver, nsName, r.attempt_url, field).path, extendMs, data }
        })
        const ns = await resolver.namespace(paramsOf(request))
        const attempts = await mapLimit(items, READ_PARALLELISM, ({ path }) => attemptOrGone(resolver, path))
        // An attempt deleted with its unit stays 'gone' without troubling the others.
        const outcomes: RenewalOutcome[] = items.map(() => 'gone')
        const renewals: AttemptRenewal[] = []
        const at: number[] = []
        items.forEach(({ extendMs, data }, i) => {
          const attempt = attempts[i]
          if (attempt === undefined) return
          renewals.push(data === undefined ? { attempt, extendMs } : { attempt, extendMs, data })
          at.push(i)
        })
        const renewed = await ns.renewAttempts(renewals)
        renewed.forEach((outcome, j) => (outcomes[at[j]!] = outcome))
        return ok(reply, { outcomes })
      },
    },
  })
}

// The list under `field` of a bulk request body, each item an object.
function bulkItems(body: unknown, field: string): Record<string, unknown>[] {
  const list = bodyObject(body)[field]
  if (!Array.isArray(list)) throw new InvalidInputError(`"${field}" must be a list`)
  if (list.length > MAX_ITEMS) throw new InvalidInputError(`at most ${MAX_ITEMS} ${field} per request`)
  return list.map((item) => bodyObject(item))
}

// The attempt an item's attempt_url names, in the request's namespace: its path parameters, and
// its identity, the same for every spelling of its path. Finding that decodes the whole path, so
// a malformed one is refused here, before anything is looked up.
function attemptOf(resolver: Resolver, nsName: string, url: unknown, field: string): { path: PathParams; identity: string } {
  const parts = ATTEMPT_PATH.exec(stringField(url, `${field}.attempt_url`) ?? '')
  if (parts === null) throw new InvalidInputError(`${field}.attempt_url is not an attempt URL`)
  const [, nsPart, spec, unit, attempt] = parts
  // Compared by name: resolving another namespace would create it.
  if (decodeName(nsPart!, `${field}.attempt_url`) !== nsName) throw new InvalidInputError(`${field} is an attempt of another namespace`)
  const path = { ns: nsPart!, spec: spec!, unit: unit!, attempt: attempt! }
  return { path, identity: resolver.attemptIdentity(path) }
}

// The attempt at `path`, or undefined when it no longer exists.
async function attemptOrGone(resolver: Resolver, path: PathParams): Promise<Attempt | undefined> {
  try {
    return await resolver.attempt(path)
  } catch (error) {
    // Its unit or spec was deleted (a missing attempt is a GoneError too).
    if (error instanceof GoneError || error instanceof NoSuchWorkSpecError || error instanceof NoSuchWorkUnitError) return undefined
    throw error
  }
}
