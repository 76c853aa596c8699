import { SingleBar } from 'cli-progress';
import type { RunInfo } from '@scoreq/client';

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Where progress goes. @defaultValue process.stderr */
  stream?: NodeJS.WriteStream;
  /**
   * A live bar (cli-progress) when true; plain lines every `intervalMs` otherwise.
   * @defaultValue whether `stream` is a terminal
   */
  tty?: boolean;
  /** Milliseconds between plain lines (and bar redraws). @defaultValue 5000 for lines, 200 for the bar */
  intervalMs?: number;
}

/** Shows a run's progress; feed it every state you have, it throttles itself. */
export interface Progress {
  update(info: RunInfo): void;
  /** Draws the final state and releases the terminal. */
  stop(info?: RunInfo): void;
}

/**
 * A live progress bar on a terminal (cli-progress), plain periodic lines otherwise (a log file
 * or CI), for `scoreq run` and `scoreq run wait`.
 */
export function createProgress(options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? stream.isTTY === true;
  return tty ? barProgress(stream, options.intervalMs ?? 200) : lineProgress(stream, options.intervalMs ?? 5_000);
}

/** One line: `run r1: 412,345 / ~1,000,000 rows (41%), 251,002 rows/s, ETA 2s, 3 rejected`. */
export function describeProgress(info: RunInfo): string {
  const total = info.total !== undefined ? fmt(info.total) : info.expectedTotal !== undefined ? `~${fmt(info.expectedTotal)}` : '?';
  const pct = info.fraction === undefined ? '' : ` (${Math.floor(info.fraction * 100)}%)`;
  const eta = info.status === 'running' && info.etaSec !== undefined ? `, ETA ${duration(info.etaSec)}` : '';
  const bad = [info.rejected > 0 ? `${fmt(info.rejected)} rejected` : '', info.failed > 0 ? `${fmt(info.failed)} failed` : ''].filter(Boolean);
  return `run ${info.id} ${info.status}: ${fmt(info.processed)} / ${total} rows${pct}, ${fmt(Math.round(info.rowsPerSec))} rows/s${eta}${bad.length ? `, ${bad.join(', ')}` : ''}`;
}

function barProgress(stream: NodeJS.WriteStream, redrawMs: number): Progress {
  const bar = new SingleBar({
    stream,
    format: 'run {id} [{bar}] {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_text} | {bad}',
    barsize: 30,
    hideCursor: true,
    etaBuffer: 50,
    fps: Math.max(1, Math.round(1000 / redrawMs)),
    noTTYOutput: false,
  });
  let started = false;
  const payload = (info: RunInfo) => ({
    id: info.id,
    rows: fmt(info.processed),
    rate: fmt(Math.round(info.rowsPerSec)),
    eta_text: info.etaSec === undefined ? '?' : duration(info.etaSec),
    bad: `${fmt(info.rejected)} rejected, ${fmt(info.failed)} failed`,
  });
  const scaled = (info: RunInfo) => Math.round((info.fraction ?? 0) * 1000);
  return {
    update(info) {
      if (!started) {
        bar.start(1000, scaled(info), payload(info));
        started = true;
      } else bar.update(scaled(info), payload(info));
    },
    stop(info) {
      if (info) this.update(info);
      if (started) bar.stop();
      started = false;
    },
  };
}

function lineProgress(stream: NodeJS.WriteStream, intervalMs: number): Progress {
  let last = Number.NEGATIVE_INFINITY;
  return {
    update(info) {
      const t = performance.now();
      if (t - last < intervalMs) return;
      last = t;
      stream.write(`${describeProgress(info)}\n`);
    },
    stop(info) {
      if (info) stream.write(`${describeProgress(info)}\n`);
    },
  };
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

function duration(sec: number): string {
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
