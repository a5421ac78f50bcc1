import { pino } from 'pino'
import { afterAll, describe, expect, it } from 'vitest'
import { type DaemonHandle, runDaemon } from '../../src/cli/daemon.js'
import { restCoordinate } from '../../src/rest/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { whenTrue } from '../support/when-true.js'
import { expectGracefulStop, runTs } from '../worker/child-process.js'

const CLI = 'src/cli/coordinate-worker.ts'
const TOKEN = 'worker-test-token'

// coordinate-worker over a real coordinated daemon's REST API (with a token), not the database.
const { url } = await openTestCoordinate()

describe.runIf(url !== undefined)('coordinate-worker --http', async () => {
  const daemon: DaemonHandle = await runDaemon({
    databaseUrl: url!,
    port: 0,
    http: { host: '127.0.0.1', port: 0, token: TOKEN },
    logger: pino({ level: 'silent' }),
  })
  const base = `http://127.0.0.1:${daemon.httpAddress!.port}`
  const client = restCoordinate(base, { token: TOKEN })
  const changes = client.changes({ namespaces: ['cli-http'] })
  afterAll(async () => {
    await client.close()
    await daemon.stop()
  })

  it('runs the handlers through the daemon, woken by its event stream, and deactivates on SIGTERM', async () => {
    const ns = await client.namespace('cli-http')
    const spec = await ns.setWorkSpec({ name: 'greet' })
    await spec.addWorkUnit('a', { who: 'ada' })
    const child = runTs(CLI, ['--module', 'test/worker/fixtures/tasks.js', '--http', base, '--namespace', 'cli-http', '--worker-name', 'http-1'], {
      COORDINATE_HTTP_TOKEN: TOKEN,
      DATABASE_URL: '',
    })
    await child.printed('worker running')
    const worker = await ns.worker('http-1')
    await whenTrue(changes, async () => (await spec.countWorkUnitStatus()).finished === 1)
    // Added while the worker is idle (its wake-up is the daemon's /events stream, or its poll).
    await spec.addWorkUnit('b', { who: 'bob' })
    await whenTrue(changes, async () => (await spec.countWorkUnitStatus()).finished === 2)
    expect(await (await spec.workUnit('b')).data()).toEqual({ greeting: 'hello bob' })
    expect(await worker.active()).toBe(true)
    expect(await worker.mode()).toBe('run')
    await expectGracefulStop(child, worker)
  }, 60_000)

  it('exits 1 with the refusal when the token is wrong', async () => {
    const { code, stderr } = await runTs(CLI, ['--module', 'test/worker/fixtures/tasks.js', '--http', base], { COORDINATE_HTTP_TOKEN: 'wrong' }).exited
    expect(code).toBe(1)
    expect(stderr).toMatch(/token|unauthori[sz]ed|401/i)
  }, 60_000)
})
