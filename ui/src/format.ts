// Small formatting helpers shared by the pages.

/** A count with thousands separators. */
export const count = (n: number): string => n.toLocaleString('en-US')

/** How long ago `time` was, relative to `now`, in the largest sensible unit. */
export function age(time: string | Date, now: string | Date): string {
  const ms = new Date(now).getTime() - new Date(time).getTime()
  const future = ms < 0
  const s = Math.abs(ms) / 1000
  const text = s < 60 ? `${Math.round(s)} s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 86400 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86400).toFixed(1)} d`
  return future ? `in ${text}` : `${text} ago`
}

/** A time as local date and time to the second, for tables. */
export function when(time: string | null): string {
  if (time === null) return '–'
  const d = new Date(time)
  const pad = (n: number): string => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/** The statuses in the order the pages show them. */
export const STATUSES = ['available', 'pending', 'delayed', 'finished', 'failed'] as const
