import Table from 'cli-table3'

/** A column: its heading and whether numbers line up on the right. */
export interface Column {
  heading: string
  align?: 'left' | 'right'
}

// No borders: columns separated by two spaces, the way shell tools print.
const PLAIN = {
  top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
  bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
  left: '', 'left-mid': '', mid: '', 'mid-mid': '',
  right: '', 'right-mid': '', middle: '  ',
}

/** Renders rows as aligned columns under a heading line, without trailing spaces. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly (string | number)[])[], heading: (text: string) => string = (text) => text): string {
  const table = new Table({
    head: columns.map((column) => heading(column.heading)),
    colAligns: columns.map((column) => column.align ?? 'left'),
    chars: PLAIN,
    style: { 'padding-left': 0, 'padding-right': 0, head: [], border: [] },
    wordWrap: false,
  })
  for (const row of rows) table.push(row.map(String))
  return `${table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n')}\n`
}
