import { mkdtempSync, rmSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ERROR_KINDS } from '../../src/coordinate/error-codes.js'
import * as errors from '../../src/coordinate/errors.js'
import { lockDataDir } from '../../src/postgres/data-dir-lock.js'
import { openCoordinate } from '../../src/postgres/open.js'
import { restCoordinate } from '../../src/rest/client/index.js'
import { errorFromBody, errorResponse } from '../../src/rest/errors.js'
import { startRestServer } from '../../src/rest/rest-server.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { proxyDatabase } from '../support/tcp-proxy.js'

const { url } = await openTestCoordinate()
const scratch = mkdtempSync(join(tmpdir(), 'coordinate-error-codes-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

/** What a client sees of an error after it crossed the HTTP API's error body. */
function overTheWire(error: errors.CoordinateError): Error {
  const { statusCode, body } = errorResponse(error)
  return errorFromBody(statusCode, JSON.parse(JSON.stringify(body)))
}

/** A real DataDirLockedError: a second lock of a held data directory. */
async function dataDirLocked(): Promise<errors.DataDirLockedError> {
  const dir = join(scratch, 'held')
  const held = await lockDataDir(dir)
  try {
    return await lockDataDir(dir).then(
      () => expect.fail('a held data directory was locked twice'),
      (error: unknown) => error as errors.DataDirLockedError,
    )
  } finally {
    held.release()
  }
}

const SAMPLES: errors.CoordinateError[] = [
  new errors.NoSuchWorkSpecError('spec'),
  new errors.NoSuchWorkUnitError('unit'),
  new errors.GoneError('Work spec'),
  new errors.NoWorkSpecNameError(),
  new errors.BadWorkSpecNameError(),
  new errors.ChangedNameError(),
  new errors.InvalidInputError('priority must be a number'),
  new errors.WrongBackendError(),
  new errors.NotPendingError(),
  new errors.LostLeaseError(),
  new errors.VersionConflictError(3, 4),
  new errors.VersionConflictError(3, null),
  new errors.ConflictError('work unit "u"'),
  new errors.DeletionConflictError(10),
  new errors.ClosedError(),
  new errors.DataDirLockedError('/var/lib/coordinate', undefined),
  new errors.DatabaseUnavailableError('unknown', 'see the server log'),
]

describe('the error table', () => {
  it('has every error class of the API, and nothing else', () => {
    const classes = Object.values(errors).filter((v) => typeof v === 'function' && v.prototype instanceof errors.CoordinateError)
    expect(new Set(SAMPLES.map((e) => e.constructor))).toEqual(new Set(classes))
    expect(new Set(SAMPLES.map((e) => e.code))).toEqual(new Set(Object.keys(ERROR_KINDS)))
  })

  it('gives a REST client the same class, code, message and fields the server threw', async () => {
    for (const error of [...SAMPLES, await dataDirLocked()]) {
      const received = overTheWire(error)
      expect(received.constructor, error.code).toBe(error.constructor)
      expect({ ...received, message: received.message }).toEqual({ ...error, message: error.message })
    }
  })

  it('carries a real DataDirLockedError with its directory and holder', async () => {
    const error = await dataDirLocked()
    const received = overTheWire(error)
    expect(received).toBeInstanceOf(errors.DataDirLockedError)
    expect((received as errors.DataDirLockedError).directory).toBe(error.directory)
    expect((received as errors.DataDirLockedError).holder).toEqual({ pid: process.pid, host: hostname(), startedAt: error.holder!.startedAt })
    expect(errorResponse(error).statusCode).toBe(503)
  })

  it('rebuilds a garbled value as the error with safe defaults, never as a different class', () => {
    const received = errorFromBody(503, { error: 'DATABASE_UNAVAILABLE', message: 'x', value: { applied: 'maybe' } })
    expect(received).toBeInstanceOf(errors.DatabaseUnavailableError)
    expect((received as errors.DatabaseUnavailableError).applied).toBe('unknown')
  })
})

describe.runIf(url !== undefined)('a REST client of a server whose database is down', async () => {
  const { proxy, url: proxied } = await proxyDatabase(url!)
  afterAll(() => proxy.close())
  const backend = await openCoordinate({ databaseUrl: proxied, leaseSweepMs: 0, connectTimeoutMs: 3_000 })
  afterAll(() => backend.close())
  const server = await startRestServer({ coordinate: backend, clock: backend.clock, host: '127.0.0.1', port: 0 })
  afterAll(() => server.close())
  const client = restCoordinate(server.url)
  afterAll(() => client.close())

  it('gets DatabaseUnavailableError with what is known of the effect, without the server-side detail', async () => {
    const spec = await (await client.namespace('rest-outage')).setWorkSpec({ name: 'spec' })
    const refused = () =>
      spec.addWorkUnit('u').then(
        () => expect.fail('a write succeeded with the database down'),
        (e: unknown) => e as errors.DatabaseUnavailableError,
      )
    await proxy.down()
    try {
      // The first write may find a pooled connection that the outage cut mid-way ('unknown');
      // the next needs a new connection, which is refused before anything is sent.
      const first = await refused()
      expect(first).toBeInstanceOf(errors.DatabaseUnavailableError)
      const second = await refused()
      expect(second).toBeInstanceOf(errors.DatabaseUnavailableError)
      expect(second.applied).toBe('no')
      expect(second.reason).toBe('see the server log')
      expect(second.message).not.toContain(String(proxy.port))
    } finally {
      await proxy.up()
    }
    expect(await (await spec.addWorkUnit('u')).status()).toBe('available')
  })
})
