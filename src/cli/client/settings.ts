import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { UsageError } from '../usage-error.js'

/** How to reach Coordinate, as the command line, the environment and the config file say. */
export type Target =
  | { kind: 'rpc'; host: string; port: number }
  | { kind: 'http'; url: string; token?: string }
  | { kind: 'database'; url: string }

/** The connection options of the command line, before the environment and the config file fill in. */
export interface ConnectionFlags {
  config?: string
  address?: string
  http?: string
  token?: string
  databaseUrl?: string
  namespace?: string
}

/** Where to connect and in which namespace. */
export interface Settings {
  target: Target
  namespace: string
  /** Where the target came from, for messages. */
  source: string
}

/** A file the user named cannot be used; the message says which and why. */
export class BadFileError extends Error {
  override name = 'BadFileError'
}

/** The daemon's default CBOR-RPC address, as the Python client's server uses. */
export const DEFAULT_ADDRESS = '127.0.0.1:5932'

/** The config file read when -c is not given: $XDG_CONFIG_HOME or ~/.config, then coordinate.yaml. */
export function defaultConfigPath(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'coordinate.yaml')
}

/**
 * Decides the target: a flag wins (only one of --address, --http, --database-url), then the
 * environment (COORDINATE_ADDRESS, COORDINATE_HTTP, DATABASE_URL), then the config file's
 * `coordinate` section (address, addresses, http, database_url), then 127.0.0.1:5932.
 */
export async function resolveSettings(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Promise<Settings> {
  const given = (['address', 'http', 'databaseUrl'] as const).filter((key) => flags[key] !== undefined)
  if (given.length > 1) throw new UsageError(`give only one of --address, --http and --database-url`)
  // An empty COORDINATE_CONFIG is unset, as for the other variables: there is no file named "".
  const configPath = flags.config ?? (env.COORDINATE_CONFIG || undefined)
  const config = await readConfigSection(configPath ?? defaultConfigPath(env), configPath !== undefined)
  const namespace = flags.namespace ?? env.COORDINATE_NAMESPACE ?? text(config.namespace, 'namespace') ?? ''
  const token = httpToken(flags, env) ?? text(config.token, 'token')
  const settings = ({ target, source }: ChosenTarget): Settings => {
    if (target.kind === 'rpc' && namespace !== '') {
      throw new UsageError(`a CBOR-RPC daemon serves only the namespace ""; use --database-url or --http for namespace ${JSON.stringify(namespace)}`)
    }
    return { target, namespace, source }
  }

  const chosen = flagOrEnvironmentTarget(flags, env, token, true)
  if (chosen !== undefined) return settings(chosen)
  const source = 'the config file'
  const address = configAddress(config)
  if (address !== undefined) return settings({ target: rpcTarget(address, source), source })
  const configHttp = text(config.http, 'http')
  if (configHttp !== undefined) return settings({ target: httpTarget(configHttp, token), source })
  const configDatabase = text(config.database_url, 'database_url')
  if (configDatabase !== undefined) return settings({ target: { kind: 'database', url: configDatabase }, source })
  return settings({ target: rpcTarget(DEFAULT_ADDRESS, 'the default'), source: 'the default address' })
}

/** A target coordinate-worker can use: everything but a CBOR-RPC daemon. */
export type HttpOrDatabaseTarget = Exclude<Target, { kind: 'rpc' }>

/** A target with the flag or variable that named it, for messages. */
export interface ChosenTarget<T extends Target = Target> {
  target: T
  source: string
}

/** The flags that name a target, as `coordinate` spells them; coordinate-worker has no --address. */
export type TargetFlags = Pick<ConnectionFlags, 'address' | 'http' | 'databaseUrl'>

/** The bearer token for HTTP: --token, else COORDINATE_HTTP_TOKEN unless it is empty. */
export function httpToken(flags: { token?: string }, env: NodeJS.ProcessEnv): string | undefined {
  return flags.token ?? setVariable(env, 'COORDINATE_HTTP_TOKEN')
}

/** The flag's target, else the environment's, by the one rule both commands share; undefined when neither names one. */
export function flagOrEnvironmentTarget(flags: Omit<TargetFlags, 'address'>, env: NodeJS.ProcessEnv, token: string | undefined, rpc: false): ChosenTarget<HttpOrDatabaseTarget> | undefined
export function flagOrEnvironmentTarget(flags: TargetFlags, env: NodeJS.ProcessEnv, token: string | undefined, rpc: true): ChosenTarget | undefined
// Flags first (--address, --http, --database-url), then COORDINATE_ADDRESS, COORDINATE_HTTP,
// DATABASE_URL. Both commands choose here so that they cannot drift apart again: a flag given
// empty is still given, but an empty variable counts as unset (`DATABASE_URL= cmd` means "not
// this one"). Without rpc (coordinate-worker) COORDINATE_ADDRESS is not looked at.
export function flagOrEnvironmentTarget(flags: TargetFlags, env: NodeJS.ProcessEnv, token: string | undefined, rpc: boolean): ChosenTarget | undefined {
  if (rpc && flags.address !== undefined) return { target: rpcTarget(flags.address, '--address'), source: '--address' }
  if (flags.http !== undefined) return { target: httpTarget(flags.http, token), source: '--http' }
  if (flags.databaseUrl !== undefined) return { target: { kind: 'database', url: flags.databaseUrl }, source: '--database-url' }
  const address = rpc ? setVariable(env, 'COORDINATE_ADDRESS') : undefined
  if (address !== undefined) return { target: rpcTarget(address, 'COORDINATE_ADDRESS'), source: 'COORDINATE_ADDRESS' }
  const http = setVariable(env, 'COORDINATE_HTTP')
  if (http !== undefined) return { target: httpTarget(http, token), source: 'COORDINATE_HTTP' }
  const databaseUrl = setVariable(env, 'DATABASE_URL')
  if (databaseUrl !== undefined) return { target: { kind: 'database', url: databaseUrl }, source: 'DATABASE_URL' }
  return undefined
}

/** Parses `host:port` (split on the last colon, `[v6]:port` allowed). */
export function rpcTarget(address: string, source: string): Target {
  const colon = address.lastIndexOf(':')
  let host = colon < 0 ? '' : address.slice(0, colon)
  const portText = address.slice(colon + 1)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const port = Number(portText)
  if (host === '' || !/^\d+$/.test(portText) || port < 1 || port > 65535) {
    throw new UsageError(`${source} must be HOST:PORT, not ${JSON.stringify(address)}`)
  }
  return { kind: 'rpc', host, port }
}

// Python's client takes `address` ("host:port" or [host, port]) first, else one of `addresses`.
function configAddress(config: Record<string, unknown>): string | undefined {
  const one = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value
    if (Array.isArray(value) && value.length === 2) return `${String(value[0])}:${String(value[1])}`
    return undefined
  }
  if (config.address !== undefined && config.address !== null) return one(config.address)
  const addresses = config.addresses
  if (!Array.isArray(addresses) || addresses.length === 0) return undefined
  return one(addresses[Math.floor(Math.random() * addresses.length)])
}

// The `coordinate` section of a YAML config file; a missing default file is an empty section.
async function readConfigSection(path: string, named: boolean): Promise<Record<string, unknown>> {
  if (!named && !existsSync(path)) return {}
  let body: string
  try {
    body = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new UsageError(`config file ${path} does not exist`)
    throw new BadFileError(`cannot read config file ${path}: ${code ?? (error as Error).message}`)
  }
  let document: unknown
  try {
    // YAML is loaded only when there is a config file: it is the slowest module to load here.
    const { parse } = await import('yaml')
    document = parse(body, { schema: 'core' })
  } catch (error) {
    throw new BadFileError(`config file ${path}: ${(error as Error).message}`)
  }
  if (document === null || document === undefined) return {}
  const section = isRecord(document) ? document.coordinate : undefined
  if (section === undefined || section === null) return {}
  if (!isRecord(section)) throw new BadFileError(`config file ${path}: "coordinate" must be a mapping`)
  return section
}

function httpTarget(url: string, token: string | undefined): HttpOrDatabaseTarget {
  return token === undefined ? { kind: 'http', url } : { kind: 'http', url, token }
}

// An empty variable counts as unset: `VAR= command` is how one is switched off for a command.
function setVariable(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name]
  return value === '' ? undefined : value
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function text(value: unknown, key: string): string | undefined {
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new BadFileError(`config file: coordinate.${key} must be a string`)
  return value
}
