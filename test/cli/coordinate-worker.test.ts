import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/cli/usage-error.js'
import { WORKER_USAGE, parseWorkerCommandLine } from '../../src/cli/worker-command-line.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { whenTrue } from '../support/when-true.js'
import { expectGracefulStop, runTs } from '../worker/child-process.js'

const CLI = 'src/cli/coordinate-worker.ts'

describe('coordinate-worker command line', () => {
  it('reads every option, with DATABASE_URL as the fallback', () => {
    expect(parseWorkerCommandLine(['--module', 't.js'], { DATABASE_URL: 'postgres://env/db' })).toEqual({
      help: false,
      options: { modulePath: 't.js', target: { kind: 'database', url: 'postgres://env/db' }, namespace: '', concurrency: 8, gracePeriodMs: 10_000, logLevel: 'info' },
    })
    const argv = ['--module', 't.js', '--database-url', 'postgres://flag/db', '--schema', 's', '--namespace', 'n', '--concurrency', '64',
      '--lease', '60', '--grace', '0', '--worker-name', 'w', '--parent', 'p', '--log-level', 'warn']
    expect(parseWorkerCommandLine(argv, {})).toEqual({
      help: false,
      options: { modulePath: 't.js', target: { kind: 'database', url: 'postgres://flag/db' }, schema: 's', namespace: 'n', concurrency: 64, leaseMs: 60_000,
        gracePeriodMs: 0, workerName: 'w', parent: 'p', logLevel: 'warn' },
    })
    expect(parseWorkerCommandLine(['-h'], {})).toEqual({ help: true })
    expect(WORKER_USAGE).toMatch(/--module FILE/)
  })

  it('connects to a REST API by --http, --url http://… or COORDINATE_HTTP, with the token from COORDINATE_HTTP_TOKEN or --token', () => {
    const target = (argv: string[], env: NodeJS.ProcessEnv) => {
      const parsed = parseWorkerCommandLine(['--module', 't.js', ...argv], env)
      return parsed.help ? undefined : parsed.options.target
    }
    const db = { DATABASE_URL: 'postgres://env/db' }
    expect(target(['--http', 'http://d:5980'], { ...db, COORDINATE_HTTP_TOKEN: 's3cret' })).toEqual({ kind: 'http', url: 'http://d:5980', token: 's3cret' })
    expect(target(['--url', 'https://d/api', '--token', 'flag'], { COORDINATE_HTTP_TOKEN: 'env' })).toEqual({ kind: 'http', url: 'https://d/api', token: 'flag' })
    expect(target(['--url', 'postgres://u/db'], {})).toEqual({ kind: 'database', url: 'postgres://u/db' })
    expect(target([], { ...db, COORDINATE_HTTP: 'http://env:1' })).toEqual({ kind: 'http', url: 'http://env:1' })
  })

  it.each([
    [['--database-url', 'postgres://x/y'], /--module FILE is required/],
    [['--module', 't.js'], /DATABASE_URL/],
    [['--module', 't.js', '--database-url', 'u', '--http', 'http://d'], /only one of/],
    [['--module', 't.js', '--http', 'd:5980'], /http:\/\/ or https:\/\//],
    [['--module', 't.js', '--database-url', 'u', '--token', 't'], /--token goes with --http/],
    [['--module', 't.js', '--http', 'http://d', '--schema', 's'], /--schema/],
    [['--module', 't.js', '--database-url', 'u', '--concurrency', '0'], /--concurrency must be/],
    [['--module', 't.js', '--database-url', 'u', '--lease', '0'], /--lease must be/],
    [['--module', 't.js', '--database-url', 'u', '--bogus'], /bogus/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseWorkerCommandLine(argv, {})).toThrow(UsageError)
    expect(() => parseWorkerCommandLine(argv, {})).toThrow(message)
  })
})

describe('coordinate-worker process', async () => {
  const { coordinate, url } = await openTestCoordinate()

  it.each([
    ['a missing file', 'test/worker/fixtures/missing.js', /cannot load the handler module .*missing\.js/],
    ['a syntax error', 'test/worker/fixtures/syntax-error.js', /cannot load the handler module .*syntax-error\.js/],
    ['a throw at import', 'test/worker/fixtures/throws-on-load.js', /configuration missing/],
    ['no default export', 'test/worker/fixtures/no-default.js', /must have a default export/],
    ['a handler that is not a function', 'test/worker/fixtures/not-functions.js', /not functions: count/],
  ])('exits 1 with a clear message for a module with %s', async (_what, module, message) => {
    const { code, stderr } = await runTs(CLI, ['--module', module, '--database-url', url ?? 'postgres://127.0.0.1:1/none']).exited
    expect(code).toBe(1)
    expect(stderr).toMatch(message)
  }, 60_000)

  it('exits 2 on bad usage', async () => {
    const { code, stderr } = await runTs(CLI, ['--concurrency', 'x']).exited
    expect(code).toBe(2)
    expect(stderr).toMatch(/Usage: coordinate-worker/)
  }, 60_000)

  // PGlite (the fallback when no server is reachable) cannot be shared with a child process.
  it.runIf(url !== undefined)('runs a module\'s handlers until SIGTERM, then stops and exits 0', async () => {
    const ns = await coordinate.namespace('cli')
    const spec = await ns.setWorkSpec({ name: 'greet' })
    await spec.addWorkUnits([{ key: 'a', data: { who: 'ada' } }, { key: 'b', data: { who: 'bob' } }])
    const child = runTs(CLI, ['--module', 'test/worker/fixtures/tasks.js', '--namespace', 'cli', '--worker-name', 'cli-1'], { DATABASE_URL: url })
    await child.printed('worker running')
    const worker = await ns.worker('cli-1')
    await whenTrue(coordinate.changes(), async () => (await spec.countWorkUnitStatus()).finished === 2)
    expect(await (await spec.workUnit('b')).data()).toEqual({ greeting: 'hello bob' })
    expect(await worker.active()).toBe(true)
    await expectGracefulStop(child, worker)
  }, 60_000)
})
