import { workUnitKeyBytes, workUnitKeyName } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { dataFromJson } from './data-json.js'
import { attemptJson, workUnitJson, workUnitShortJson, workUnitSnapshotJson } from './representations.js'
import { bodyObject, selectsAll, workUnitItemOf, workUnitMetaField, workUnitQueryOf } from './request-input.js'
import { decodeKey, encodeName } from './names.js'
import { resource } from './resource.js'
import { type RouteContext, created, noContent, ok, paramsOf, queryOf } from './route-context.js'
import { S, versionGuardOf } from './routes-work-specs.js'
import { urls } from './urls.js'

/** The path of one work unit. */
export const U = `${S}/work_unit/:unit`

/** Units per page of a work unit listing unless `limit` says otherwise. */
export const DEFAULT_PAGE = 1000
/** The largest page, and the most items of one bulk request. */
export const MAX_PAGE = 10_000

/** The work unit routes: query, add, delete, bulk add, snapshots, one unit and its attempts. */
export function workUnitRoutes({ app, resolver, clock }: RouteContext): void {
  resource(app, `${S}/work_unit`, {
    GET: {
      handler: async (request, reply) => {
        const query = workUnitQueryOf(queryOf(request))
        if ((query.limit ?? 0) > MAX_PAGE) throw new InvalidInputError(`limit must be at most ${MAX_PAGE}`)
        query.limit ??= DEFAULT_PAGE
        const spec = await resolver.workSpec(paramsOf(request))
        const units = await spec.workUnits(query)
        const snapshots = await spec.workUnitSnapshots(units.map((u) => u.key))
        const last = units.at(-1)
        return ok(reply, {
          work_units: snapshots.map((s) => workUnitShortJson(spec, s, clock)),
          next: units.length === query.limit && last !== undefined ? encodeName(last.key) : null,
        })
      },
    },
    POST: {
      handler: async (request, reply) => {
        const item = workUnitItemOf(request.body, 0)
        const spec = await resolver.workSpec(paramsOf(request))
        // The bulk path, so the unit's data is walked only where it is read and where the
        // backend encodes it (addWorkUnit would check it once more on the way through a cache).
        await spec.addWorkUnits([item])
        // Identity only: the full representation would cost two more reads on the hot bulk path.
        const key = workUnitKeyBytes(item.key)
        const url = urls.workUnit(spec.namespace.name, spec.name, key)
        return created(reply, url, { name: workUnitKeyName(key), key: encodeName(key), url })
      },
    },
    DELETE: {
      handler: async (request, reply) => {
        const q = queryOf(request)
        const query = workUnitQueryOf(q)
        // Deleting every unit of a spec takes saying so: a bare DELETE is too easy to send by mistake.
        if (selectsAll(query) && q.all !== 'true') throw new InvalidInputError('DELETE with no filter deletes every unit; add all=true to mean it')
        const spec = await resolver.workSpec(paramsOf(request))
        return ok(reply, { deleted: await spec.deleteWorkUnits(query) })
      },
    },
  })
  resource(app, `${S}/add_work_units`, {
    POST: {
      handler: async (request, reply) => {
        const list = bodyObject(request.body).work_units
        if (!Array.isArray(list)) throw new InvalidInputError('"work_units" must be a list')
        if (list.length > MAX_PAGE) throw new InvalidInputError(`at most ${MAX_PAGE} work units per request`)
        const items = list.map((entry, i) => workUnitItemOf(entry, i, `work_units[${i}]`))
        // Each item was checked as it was read; the backend checks it once more as it encodes it.
        const spec = await resolver.workSpec(paramsOf(request))
        return ok(reply, { count: await spec.addWorkUnits(items) })
      },
    },
  })
  resource(app, `${S}/work_unit_snapshots`, {
    POST: {
      handler: async (request, reply) => {
        const keys = bodyObject(request.body).keys
        if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new InvalidInputError('"keys" must be a list of encoded keys')
        if (keys.length > MAX_PAGE) throw new InvalidInputError(`at most ${MAX_PAGE} keys per request`)
        const decoded = keys.map((k: string) => decodeKey(k, 'key'))
        const spec = await resolver.workSpec(paramsOf(request))
        return ok(reply, { snapshots: (await spec.workUnitSnapshots(decoded)).map(workUnitSnapshotJson) })
      },
    },
  })
  resource(app, U, {
    GET: { handler: async (request, reply) => ok(reply, await workUnitJson(await resolver.workUnit(paramsOf(request)), clock)) },
    PUT: {
      handler: async (request, reply) => {
        const body = bodyObject(request.body)
        const meta = workUnitMetaField(body.meta)
        const unit = await resolver.workUnit(paramsOf(request))
        if (meta !== undefined) await unit.setMeta(meta)
        if (body.active_attempt_url === '-') await unit.clearActiveAttempt()
        return noContent(reply)
      },
    },
  })
  resource(app, `${U}/data`, {
    PUT: {
      handler: async (request, reply) => {
        const body = bodyObject(request.body)
        const data = dataFromJson(body.data, 'data', 'data')
        const guard = versionGuardOf(body)
        const unit = await resolver.workUnit(paramsOf(request))
        return ok(reply, { version: await unit.setData(data, guard) })
      },
    },
  })
  resource(app, `${U}/snapshot`, {
    GET: { handler: async (request, reply) => ok(reply, workUnitSnapshotJson(await (await resolver.workUnit(paramsOf(request))).snapshot())) },
  })
  resource(app, `${U}/attempts`, {
    GET: {
      handler: async (request, reply) => {
        const attempts = await (await resolver.workUnit(paramsOf(request))).attempts()
        return ok(reply, { attempts: await Promise.all(attempts.map((a) => attemptJson(resolver.remember(a)))) })
      },
    },
  })
  resource(app, `${U}/num-attempts`, {
    GET: { handler: async (request, reply) => ok(reply, await (await resolver.workUnit(paramsOf(request))).numAttempts()) },
  })
  resource(app, `${U}/active_attempt`, {
    GET: {
      handler: async (request, reply) => {
        const active = await (await resolver.workUnit(paramsOf(request))).activeAttempt()
        if (active === null) return noContent(reply)
        return ok(reply, await attemptJson(resolver.remember(active)))
      },
    },
  })
}
