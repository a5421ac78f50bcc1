import { useEffect } from 'preact/hooks'
import type { Overview, OverviewSpec } from '../../../src/rest/dashboard-types.js'
import { api } from '../api.js'
import { StatusBar } from '../components/status-counts.js'
import { ThroughputChart } from '../components/throughput-chart.js'
import { STATUSES, count } from '../format.js'
import { useLive } from '../live.js'
import { specUrl, workersUrl } from '../router.js'
import { LoadState } from '../components/load-state.js'

/** Every namespace and spec with their counts, throughput, and the specs that need a look. */
export function OverviewPage() {
  useEffect(() => {
    document.title = 'Overview · coordinate'
  }, [])
  const live = useLive(() => api<Overview>('GET', '/dashboard/overview'), [], () => true)
  const overview = live.data
  if (overview === undefined) return <LoadState error={live.error} />
  const all = overview.namespaces.flatMap((ns) => ns.specs.map((spec) => ({ ns: ns.name, spec })))
  const paused = all.filter((x) => x.spec.paused)
  const stuck = all.filter((x) => x.spec.stuck > 0).sort((a, b) => b.spec.stuck - a.spec.stuck)
  const failing = all.filter((x) => x.spec.counts.failed > 0).sort((a, b) => b.spec.failedLastHour - a.spec.failedLastHour || b.spec.counts.failed - a.spec.counts.failed).slice(0, 5)
  return (
    <main id="main">
      <h1>Overview</h1>
      {live.error && <p class="error" role="alert">{live.error.message}</p>}
      <section class="panels">
        <ThroughputChart throughput={overview.throughput} label="Throughput, last hour" />
        <Attention title="Paused" items={paused} describe={() => 'paused'} />
        <Attention title="Stuck" items={stuck} describe={(s) => `${count(s.stuck)} expired lease${s.stuck === 1 ? '' : 's'}`} />
        <Attention title="Failing most" items={failing} describe={(s) => `${count(s.counts.failed)} failed, ${count(s.failedLastHour)} in the last hour`} />
      </section>
      {overview.namespaces.length === 0 && <p>No namespaces yet.</p>}
      {overview.namespaces.map((ns) => (
        <section key={ns.name} class="namespace" data-namespace={ns.name}>
          <h2>
            {ns.name === '' ? 'Default namespace' : <>Namespace <q>{ns.name}</q></>}{' '}
            <a class="aside" href={workersUrl(ns.name)}>
              {count(ns.workers.active)} active worker{ns.workers.active === 1 ? '' : 's'}
              {ns.workers.stale > 0 && <span class="badge warn">{count(ns.workers.stale)} stale</span>}
            </a>
          </h2>
          <table class="specs">
            <thead>
              <tr>
                <th scope="col">work spec</th>
                {STATUSES.map((s) => (
                  <th key={s} scope="col" class="num">{s}</th>
                ))}
                <th scope="col">share</th>
                <th scope="col" class="num">done/h</th>
              </tr>
            </thead>
            <tbody>
              {ns.specs.map((spec) => (
                <tr key={spec.name} data-spec={spec.name}>
                  <th scope="row">
                    <a href={specUrl(ns.name, spec.name)}>{spec.name}</a>
                    {spec.paused && <span class="badge">paused</span>}
                    {spec.stuck > 0 && <span class="badge warn">stuck</span>}
                  </th>
                  {STATUSES.map((s) => (
                    <td key={s} class={`num ${spec.counts[s] === 0 ? 'zero' : `s-text-${s}`}`} data-status={s}>{count(spec.counts[s])}</td>
                  ))}
                  <td class="share"><StatusBar counts={spec.counts} /></td>
                  <td class="num">{count(spec.finishedLastHour)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </main>
  )
}

function Attention({ title, items, describe }: { title: string; items: { ns: string; spec: OverviewSpec }[]; describe: (spec: OverviewSpec) => string }) {
  return (
    <section class="attention" aria-label={title}>
      <h2>{title}</h2>
      {items.length === 0 ? (
        <p class="quiet">none</p>
      ) : (
        <ul>
          {items.map(({ ns, spec }) => (
            <li key={ns + '\0' + spec.name}>
              <a href={specUrl(ns, spec.name)}>{ns === '' ? spec.name : `${ns} / ${spec.name}`}</a> <span class="quiet">{describe(spec)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}
