import type { Throughput } from '../../../src/rest/dashboard-types.js'
import { count } from '../format.js'

/** Finished (and failed, stacked above) attempts per minute over the last hour, as SVG bars. */
export function ThroughputChart({ throughput, label }: { throughput: Throughput; label: string }) {
  const minutes = throughput.finished.length
  const peak = Math.max(1, ...throughput.finished.map((f, i) => f + (throughput.failed[i] ?? 0)))
  const totalFinished = throughput.finished.reduce((a, b) => a + b, 0)
  const totalFailed = throughput.failed.reduce((a, b) => a + b, 0)
  const width = 300
  const height = 48
  const bar = width / minutes
  return (
    <figure class="chart">
      <h2>{label}</h2>
      {totalFinished + totalFailed === 0 && <p class="quiet">No attempts ended in the last hour.</p>}
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${label}: ${totalFinished} finished and ${totalFailed} failed in the last hour`}>
        {throughput.finished.map((finished, i) => {
          const failed = throughput.failed[i] ?? 0
          const hf = (finished / peak) * height
          const hx = (failed / peak) * height
          return (
            <g key={i}>
              {finished > 0 && <rect class="c-finished" x={i * bar} y={height - hf} width={bar * 0.8} height={hf} />}
              {failed > 0 && <rect class="c-failed" x={i * bar} y={height - hf - hx} width={bar * 0.8} height={hx} />}
            </g>
          )
        })}
      </svg>
      <figcaption>
        <strong>{count(totalFinished)}</strong> finished, <strong class={totalFailed > 0 ? 'bad' : ''}>{count(totalFailed)}</strong> failed (peak {count(peak)}/min)
      </figcaption>
    </figure>
  )
}
