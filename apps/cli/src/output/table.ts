/** Column alignment in {@link formatTable}. */
export type Align = 'left' | 'right';

/**
 * A plain-text table with a header and a rule, columns padded to their widest cell:
 *
 * ```
 * job id  model  score
 * ------  -----  -----
 * 17      churn  0.512
 * ```
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[] = []): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    widths
      .map((w, c) => {
        const cell = cells[c] ?? '';
        return align[c] === 'right' ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
