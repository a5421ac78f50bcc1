import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/cli/config.js'
import { DEFAULT_DATA_DIR, USAGE, parseCommandLine, parseListen } from '../../src/cli/options.js'
import { UsageError } from '../../src/cli/usage-error.js'
import { InvalidInputError } from '../../src/coordinate/errors.js'

describe('coordinated command line', () => {
  it('defaults to PGlite in ./coordinate-data on 127.0.0.1:5932 at info', () => {
    expect(parseCommandLine([], {})).toEqual({
      help: false,
      options: { dataDir: DEFAULT_DATA_DIR, host: '127.0.0.1', port: 5932, logLevel: 'info', shutdownTimeoutMs: 10_000, http: { host: '127.0.0.1', port: 5980, allowedHosts: [] } },
    })
  })

  it('takes the database URL from --database-url, else from DATABASE_URL', () => {
    const env = { DATABASE_URL: 'postgres://env/db' }
    expect(parseCommandLine([], env)).toMatchObject({ options: { databaseUrl: 'postgres://env/db' } })
    expect(parseCommandLine(['--database-url', 'postgres://flag/db'], env)).toMatchObject({ options: { databaseUrl: 'postgres://flag/db' } })
    expect(parseCommandLine([], { DATABASE_URL: '' })).not.toHaveProperty('options.databaseUrl')
  })

  it('reads every option', () => {
    const argv = ['--data-dir', '/d', '--listen', '0.0.0.0:6000', '--config', 'c.yaml', '--log-level', 'debug', '--log-format', 'pretty', '--shutdown-timeout', '2.5', '--cache-units', '5000']
    expect(parseCommandLine(argv, {})).toEqual({
      help: false,
      options: { dataDir: '/d', host: '0.0.0.0', port: 6000, configFile: 'c.yaml', logLevel: 'debug', logFormat: 'pretty', shutdownTimeoutMs: 2500, cacheWorkUnits: 5000, http: { host: '127.0.0.1', port: 5980, allowedHosts: [] } },
    })
  })

  it('reads the HTTP flags: address or off, token from the flag or the environment, allowed hosts', () => {
    expect(parseCommandLine(['--http', 'off'], {})).toMatchObject({ options: { http: null } })
    const parsed = parseCommandLine(['--http', '[::1]:0', '--http-allowed-host', 'a.example', '--http-allowed-host', 'b.example'], { COORDINATE_HTTP_TOKEN: 'from-env' })
    expect(parsed).toMatchObject({ options: { http: { host: '::1', port: 0, token: 'from-env', allowedHosts: ['a.example', 'b.example'] } } })
    expect(parseCommandLine(['--http-token', 'flag'], { COORDINATE_HTTP_TOKEN: 'env' })).toMatchObject({ options: { http: { token: 'flag' } } })
    expect(parseCommandLine([], { COORDINATE_HTTP_TOKEN: '' })).not.toHaveProperty('options.http.token')
    expect(() => parseCommandLine(['--http', '5980'], {})).toThrow(/--http must be HOST:PORT/)
    expect(USAGE).toContain('--http-token')
  })

  it('answers --help and -h', () => {
    expect(parseCommandLine(['--help'], {})).toEqual({ help: true })
    expect(parseCommandLine(['-h'], {})).toEqual({ help: true })
    expect(USAGE).toContain('--database-url')
  })

  it('refuses unknown options, positionals, bad levels and bad addresses', () => {
    expect(() => parseCommandLine(['--nope'], {})).toThrow(UsageError)
    expect(() => parseCommandLine(['extra'], {})).toThrow(UsageError)
    expect(() => parseCommandLine(['--log-level', 'loud'], {})).toThrow(UsageError)
    expect(() => parseCommandLine(['--listen', '5932'], {})).toThrow(UsageError)
    expect(() => parseCommandLine(['--log-format', 'xml'], {})).toThrow(UsageError)
    expect(() => parseCommandLine(['--shutdown-timeout', '-1'], {})).toThrow(UsageError)
    expect(() => parseCommandLine(['--shutdown-timeout', ''], {})).toThrow(UsageError)
    for (const units of ['0', '1.5', 'many', '']) expect(() => parseCommandLine(['--cache-units', units], {}), units).toThrow(/--cache-units must be a whole number/)
    expect(() => parseCommandLine(['--cache-units', '-5'], {})).toThrow(UsageError)
  })

  it('refuses a database URL that is not a postgres:// URL, naming where it came from', () => {
    expect(() => parseCommandLine(['--database-url', 'not-a-url'], {})).toThrow(/^--database-url is not a URL: "not-a-url"/)
    expect(() => parseCommandLine([], { DATABASE_URL: 'mysql://u:pw@h/db' })).toThrow(/^\$DATABASE_URL is a mysql URL, not postgres:\/\/: "mysql:\/\/u:\*\*\*@h\/db"/)
    expect(parseCommandLine(['--database-url', 'postgresql:///db?host=/run/postgresql'], {})).toMatchObject({ options: { databaseUrl: 'postgresql:///db?host=/run/postgresql' } })
  })

  it('splits --listen on the last colon', () => {
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 })
    expect(parseListen('[::1]:5932')).toEqual({ host: '::1', port: 5932 })
    expect(() => parseListen(':5932')).toThrow(UsageError)
    expect(() => parseListen('host:99999')).toThrow(UsageError)
    expect(() => parseListen('host:x')).toThrow(UsageError)
  })
})

describe('config file', () => {
  it('is a mapping, or empty', () => {
    expect(parseConfig('coordinate:\n  addresses: ["localhost:5932"]\nn: 1.5\n')).toEqual({ coordinate: { addresses: ['localhost:5932'] }, n: 1.5 })
    expect(parseConfig('')).toEqual({})
    expect(parseConfig('# nothing\n')).toEqual({})
  })

  it('refuses anything else, naming the file', () => {
    expect(() => parseConfig('- a\n- b\n', 'c.yaml')).toThrow(InvalidInputError)
    expect(() => parseConfig('a: [\n', 'c.yaml')).toThrow(/^c\.yaml: /)
  })
})
