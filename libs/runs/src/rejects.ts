import { csvField } from './csv-field.js';

/** A row left out of the output, and why. */
export interface Reject {
  /** Line of the input the row starts on (1 is the first line; a CSV header is line 1). */
  readonly line: number;
  /** The feature or column at fault, when one is. */
  readonly field: string | undefined;
  readonly reason: string;
}

/** First line of a rejects file. */
export const REJECTS_HEADER = 'line,field,reason\n';

/** Rejects as CSV lines (`line,field,reason`), in the order given. */
export function formatRejects(rejects: readonly Reject[]): string {
  let text = '';
  for (const r of rejects) text += `${r.line},${csvField(r.field ?? '')},${csvField(r.reason)}\n`;
  return text;
}
