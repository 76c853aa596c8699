import { stringify } from 'csv-stringify/sync';

/**
 * One CSV field as csv-stringify writes it with its defaults: quoted (quotes doubled) when it
 * contains `,`, `"`, `\r` or `\n`, as is otherwise. Plain fields, nearly all of them, skip the
 * library call, which costs about a microsecond a field.
 */
export function csvField(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 44 || c === 34 || c === 10 || c === 13) return stringify([[value]], { eof: false });
  }
  return value;
}

/** A CSV line of fields, with its newline. */
export function csvLine(values: readonly string[]): string {
  return `${values.map(csvField).join(',')}\n`;
}
