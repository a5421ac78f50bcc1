import { useEffect, useState } from 'preact/hooks'
import { decodeName, encodeName } from './names.js'

// Pages have real URLs under /ui/ so that reload, bookmarks and back/forward all work.

/** The page a URL names. */
export type Route =
  | { page: 'overview' }
  | { page: 'spec'; namespace: string; spec: string; search: URLSearchParams }
  | { page: 'unit'; namespace: string; spec: string; key: string }
  | { page: 'workers'; namespace: string }
  | { page: 'not-found' }

const BASE = '/ui'

/** Reads the route from a location. */
export function parseRoute(pathname: string, search: string): Route {
  const parts = pathname.slice(BASE.length).split('/').filter((p) => p !== '')
  if (parts.length === 0) return { page: 'overview' }
  if (parts[0] !== 'namespace' || parts[1] === undefined) return { page: 'not-found' }
  const namespace = decodeName(parts[1])
  if (parts[2] === 'workers' && parts.length === 3) return { page: 'workers', namespace }
  if (parts[2] !== 'work_spec' || parts[3] === undefined) return { page: 'not-found' }
  const spec = decodeName(parts[3])
  if (parts.length === 4) return { page: 'spec', namespace, spec, search: new URLSearchParams(search) }
  if (parts[4] === 'work_unit' && parts[5] !== undefined && parts.length === 6) return { page: 'unit', namespace, spec, key: parts[5] }
  return { page: 'not-found' }
}

/** The URL of the overview. */
export const overviewUrl = (): string => `${BASE}/`

/** The URL of a spec's page. */
export const specUrl = (namespace: string, spec: string): string => `${BASE}/namespace/${encodeName(namespace)}/work_spec/${encodeName(spec)}`

/** The URL of a unit's page; `key` is already in the path encoding. */
export const unitUrl = (namespace: string, spec: string, key: string): string => `${specUrl(namespace, spec)}/work_unit/${key}`

/** The URL of a namespace's workers page. */
export const workersUrl = (namespace: string): string => `${BASE}/namespace/${encodeName(namespace)}/workers`

const listeners = new Set<() => void>()

/** Goes to a URL inside the app without reloading; `replace` keeps it out of the history. */
export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, '', url)
  else history.pushState(null, '', url)
  for (const listener of listeners) listener()
}

/** The current route, following navigation and back/forward. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname, location.search))
  useEffect(() => {
    const update = (): void => setRoute(parseRoute(location.pathname, location.search))
    listeners.add(update)
    addEventListener('popstate', update)
    return () => {
      listeners.delete(update)
      removeEventListener('popstate', update)
    }
  }, [])
  return route
}

/** Click handler for in-app links: plain left clicks navigate in place, others behave as usual. */
export function followLink(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
  const anchor = (event.target as Element | null)?.closest('a')
  if (!anchor || anchor.target !== '' || anchor.origin !== location.origin || !anchor.pathname.startsWith(BASE)) return
  event.preventDefault()
  navigate(anchor.pathname + anchor.search)
}
