import { createHash, timingSafeEqual } from 'node:crypto'
import { isIP } from 'node:net'
import { HttpError } from './errors.js'

/** Who may call the API: an optional bearer token and the Host names requests may use. */
export interface AccessOptions {
  /** When set, every request but /healthz needs `Authorization: Bearer <token>`. */
  token?: string
  /** Host names (without port) accepted besides the bound address; `*` accepts any. */
  allowedHosts?: readonly string[]
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1']

/**
 * Decides the Host names a server bound to `boundHost` accepts. A browser page on some domain
 * that an attacker points at 127.0.0.1 (DNS rebinding) sends its own domain as Host; refusing
 * unknown names stops it reaching a localhost daemon. IP literals cannot be rebound, so a
 * wildcard bind accepts them all.
 */
export function hostChecker(boundHost: string, allowedHosts: readonly string[] = []): (hostHeader: string | undefined) => void {
  if (allowedHosts.includes('*')) return () => undefined
  const allowed = new Set([...allowedHosts, boundHost].map((h) => h.toLowerCase()))
  const loopback = boundHost === 'localhost' || boundHost.startsWith('127.') || boundHost === '::1'
  if (loopback) for (const name of LOOPBACK_NAMES) allowed.add(name)
  const wildcard = boundHost === '0.0.0.0' || boundHost === '::'
  return (hostHeader) => {
    const host = hostName(hostHeader ?? '')
    if (host !== '' && (allowed.has(host) || (wildcard && isIP(host) !== 0))) return
    throw new HttpError(403, 'FORBIDDEN_HOST', `Host ${JSON.stringify(hostHeader ?? '')} is not served here; add it with --http-allowed-host`)
  }
}

/** The host part of a Host header, lower case, without port or IPv6 brackets. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase()
  if (h.startsWith('[')) {
    const end = h.indexOf(']')
    return end < 0 ? '' : h.slice(1, end)
  }
  const colon = h.indexOf(':')
  return colon < 0 ? h : h.slice(0, colon)
}

/** Checks `Authorization: Bearer …` against the token in constant time; HttpError 401 otherwise. */
export function tokenChecker(token: string): (authorization: string | undefined) => void {
  const expected = digest(token)
  return (authorization) => {
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '')
    // Comparing fixed-length digests keeps the time independent of where the strings differ
    // and of their lengths.
    if (match?.[1] !== undefined && timingSafeEqual(digest(match[1].trim()), expected)) return
    throw new HttpError(401, 'UNAUTHORIZED', authorization === undefined ? 'this server needs an Authorization: Bearer token' : 'the bearer token is wrong')
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
