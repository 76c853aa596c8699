import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** Resident set size of a process now (VmRSS) and at its peak (VmHWM), in MB; undefined once it exits. */
export function processMemory(pid: number): { rssMb: number; peakMb: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    const rssKb = kb('VmRSS');
    const peakKb = kb('VmHWM');
    // An exiting process (a zombie) still has a status file, without its memory lines.
    if (Number.isNaN(rssKb) || Number.isNaN(peakKb)) return undefined;
    return { rssMb: rssKb / 1024, peakMb: peakKb / 1024 };
  } catch {
    return undefined;
  }
}

/** One process's memory over a timed run: peak, and the highest RSS in each half (flatness). */
export interface MemoryTrace {
  peakMb: number;
  firstHalfMaxMb: number;
  secondHalfMaxMb: number;
}

/**
 * Samples the RSS of processes and Redis `used_memory` every `intervalMs` until stopped. Reading
 * /proc is how a figure for a separate process is had without instrumenting it; VmHWM catches
 * peaks between samples.
 */
export class MemorySampler {
  private readonly samples = new Map<number, { t: number; mb: number }[]>();
  private readonly peaks = new Map<number, number>();
  private redisSamples: number[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly started = performance.now();
  private busy = false;

  constructor(
    private readonly pids: readonly number[],
    private readonly redis: Redis,
    private readonly redisBaseline: number,
    intervalMs = 100,
  ) {
    this.timer = setInterval(() => void this.sample(), intervalMs);
  }

  /** Redis `used_memory` in bytes. */
  static async redisUsed(redis: Redis): Promise<number> {
    const info = await redis.info('memory');
    return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
  }

  stop(): { processes: Map<number, MemoryTrace>; redisPeakMb: number } {
    clearInterval(this.timer);
    const end = performance.now();
    const half = this.started + (end - this.started) / 2;
    const processes = new Map<number, MemoryTrace>();
    for (const pid of this.pids) {
      const s = this.samples.get(pid) ?? [];
      const max = (xs: { mb: number }[]): number => xs.reduce((m, x) => Math.max(m, x.mb), 0);
      processes.set(pid, {
        peakMb: this.peaks.get(pid) ?? max(s),
        firstHalfMaxMb: max(s.filter((x) => x.t < half)),
        secondHalfMaxMb: max(s.filter((x) => x.t >= half)),
      });
    }
    const redisPeak = this.redisSamples.reduce((m, x) => Math.max(m, x), this.redisBaseline);
    return { processes, redisPeakMb: (redisPeak - this.redisBaseline) / 2 ** 20 };
  }

  private async sample(): Promise<void> {
    const t = performance.now();
    for (const pid of this.pids) {
      const m = processMemory(pid);
      if (!m) continue;
      let list = this.samples.get(pid);
      if (!list) this.samples.set(pid, (list = []));
      list.push({ t, mb: m.rssMb });
      this.peaks.set(pid, Math.max(this.peaks.get(pid) ?? 0, m.peakMb));
    }
    if (this.busy) return;
    this.busy = true;
    try {
      this.redisSamples.push(await MemorySampler.redisUsed(this.redis));
    } catch {
      // A missed Redis sample only makes the peak less precise.
    } finally {
      this.busy = false;
    }
  }
}
