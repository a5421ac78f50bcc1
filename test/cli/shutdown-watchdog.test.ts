import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { ExitCode } from '../../src/cli/exit-codes.js'
import { buildIfStale, watch } from './daemon-process.js'

// The watchdog ends a whole process, so each case runs in a child process of its own, built
// from dist/ as the command runs it: it arms the watchdog, then hangs in one of two ways.
beforeAll(() => buildIfStale(), 120_000)

function hangingProcess(hang: string): ReturnType<typeof watch> {
  const watchdog = pathToFileURL('dist/src/cli/shutdown-watchdog.js').href
  const script = `
    import { pino } from 'pino'
    import { armShutdownWatchdog } from '${watchdog}'
    const logger = pino()
    const exit = (code) => { logger.flush(); process.exit(code) }
    const watchdog = armShutdownWatchdog({ limitMs: 400, logger, exit, exitCode: ${ExitCode.shutdownIncomplete}, stage: 'draining requests' })
    watchdog.stage('closing the database')
    ${hang}
  `
  return watch(process.execPath, ['--input-type=module', '-e', script])
}

describe('shutdown watchdog', () => {
  it('exits with the shutdown status and logs the stage when the stop awaits forever', async () => {
    const watched = hangingProcess('setInterval(() => undefined, 1000); await new Promise(() => undefined)')
    expect(await watched.exited).toBe(ExitCode.shutdownIncomplete)
    expect(watched.logs).toEqual([expect.objectContaining({ level: 50, stage: 'closing the database', msg: 'the stop did not finish in time; exiting while closing the database' })])
  })

  it('kills the process from its thread when the event loop is blocked', async () => {
    const watched = hangingProcess('for (;;) {}')
    expect(await watched.exited).toBe('SIGKILL')
    expect(watched.stderr()).toBe('coordinated: the stop did not finish in time and the event loop is blocked (stuck while closing the database); killing the process\n')
  })

  it('lets the process end on its own once disarmed', async () => {
    const watched = hangingProcess("watchdog.disarm(); setTimeout(() => { console.log(JSON.stringify({ msg: 'done' })) }, 700)")
    expect(await watched.exited).toBe(0)
    expect(watched.logs).toEqual([{ msg: 'done' }])
  })
})
