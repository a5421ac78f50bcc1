import { useEffect } from 'preact/hooks'
import type { WorkersPage as Workers } from '../../../src/rest/dashboard-types.js'
import { api } from '../api.js'
import { DataView, oneLine } from '../components/data-view.js'
import { LoadState } from '../components/load-state.js'
import { age } from '../format.js'
import { useLive } from '../live.js'
import { overviewUrl, unitUrl } from '../router.js'
import { dashWorkers } from '../paths.js'

// Worker heartbeats do not come through the change feed, so this page also reloads on a timer.
const HEARTBEAT_REFRESH_MS = 5000

/** A namespace's workers with their heartbeats and active attempts; stale ones marked. */
export function WorkersPage({ namespace }: { namespace: string }) {
  useEffect(() => {
    document.title = `Workers · ${namespace === '' ? 'default namespace' : namespace} · coordinate`
  }, [namespace])
  const live = useLive(() => api<Workers>('GET', dashWorkers(namespace)), [namespace], (c) => c.namespace === namespace)
  useEffect(() => {
    const timer = setInterval(live.reload, HEARTBEAT_REFRESH_MS)
    return () => clearInterval(timer)
  }, [namespace])
  const page = live.data
  if (page === undefined) return <LoadState error={live.error} />
  return (
    <main id="main">
      <nav class="crumbs" aria-label="breadcrumbs">
        <a href={overviewUrl()}>overview</a>
      </nav>
      <h1>{namespace === '' ? 'Workers' : <>Workers of <q>{namespace}</q></>}</h1>
      {page.workers.length === 0 && <p class="quiet">No workers have registered.</p>}
      <table class="workers">
        <thead>
          <tr>
            <th scope="col">name</th>
            <th scope="col">parent</th>
            <th scope="col">mode</th>
            <th scope="col">last heartbeat</th>
            <th scope="col">active attempts</th>
            <th scope="col">host data</th>
          </tr>
        </thead>
        <tbody>
          {page.workers.map((w) => (
            <tr key={w.name} class={w.stale ? 'stale' : w.active ? '' : 'inactive'} data-worker={w.name}>
              <th scope="row">
                {w.name} {w.stale && <span class="badge warn">stale</span>}
                {!w.active && <span class="badge">inactive</span>}
              </th>
              <td>{w.parent ?? '–'}</td>
              <td>{w.mode || '–'}</td>
              <td title={w.lastUpdate}>{age(w.lastUpdate, page.now)}</td>
              <td>
                {w.attempts.length === 0
                  ? '–'
                  : w.attempts.map((a) => (
                      <div key={a.workSpec + a.key}>
                        <a href={unitUrl(namespace, a.workSpec, a.key)}>{a.workSpec} / {a.name}</a>
                      </div>
                    ))}
              </td>
              <td>
                {oneLine(w.data) === '{}' ? (
                  '–'
                ) : (
                  <details>
                    <summary>{oneLine(w.data, 60)}</summary>
                    <DataView value={w.data} />
                  </details>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </main>
  )
}
