import { availableParallelism, cpus } from 'node:os';

/** The machine a figure was measured on, reported with every result (BENCHMARKS.md). */
export interface MachineInfo {
  /** CPU model name, as the OS reports it. */
  readonly cpu: string;
  /** Logical CPUs this process may use. */
  readonly nproc: number;
  /** Node.js version, e.g. `v20.19.0`. */
  readonly node: string;
}

export function machineInfo(): MachineInfo {
  return Object.freeze({
    cpu: cpus()[0]?.model.trim() || 'unknown',
    nproc: availableParallelism(),
    node: process.version,
  });
}
