import { readFileSync } from 'node:fs';

/**
 * Linux reports utime/stime in clock ticks; USER_HZ is 100 on every mainstream kernel build (getconf CLK_TCK), so one tick
 * is 10 ms. Runs last seconds, so the 10 ms granularity is below 1% of what we measure.
 */
const MS_PER_TICK = 10;

/** CPU time (user + system, all threads: JS, GC, libuv) a process has used so far, in milliseconds. */
export function readCpuMs(pid: number): number {
  const { userMs, systemMs } = readCpuSplitMs(pid);
  return userMs + systemMs;
}

/**
 * A process's CPU so far split into user time (JS, GC, libuv, the addon's C++) and system time (the kernel: on
 * loopback, a socket write carries the receiving side's TCP work too), in milliseconds.
 */
export function readCpuSplitMs(pid: number): { userMs: number; systemMs: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses; the fields after the last ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so utime (field 14) and stime (field 15) sit at 11 and 12.
  return { userMs: Number(fields[11]) * MS_PER_TICK, systemMs: Number(fields[12]) * MS_PER_TICK };
}

/** Resident set size of a process, in bytes. */
export function readRssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Summed CPU milliseconds of several processes; a process that already exited counts as 0. */
export function readCpuMsOf(pids: readonly number[]): number {
  const { userMs, systemMs } = readCpuSplitMsOf(pids);
  return userMs + systemMs;
}

/** Summed user and system milliseconds of several processes; a process that already exited counts as 0. */
export function readCpuSplitMsOf(pids: readonly number[]): { userMs: number; systemMs: number } {
  let userMs = 0;
  let systemMs = 0;
  for (const pid of pids) {
    try {
      const split = readCpuSplitMs(pid);
      userMs += split.userMs;
      systemMs += split.systemMs;
    } catch {
      // Gone: it used nothing more in this window that we could attribute.
    }
  }
  return { userMs, systemMs };
}

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Percentiles of latency samples given in microseconds. */
export function summarizeLatency(samplesUs: number[]): LatencySummary {
  if (samplesUs.length === 0) return { samples: 0, p50Ms: NaN, p99Ms: NaN, maxMs: NaN };
  const sorted = Float64Array.from(samplesUs).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1000;
  return { samples: sorted.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1] / 1000 };
}

/** A monotonic clock in microseconds shared by every process on the machine (CLOCK_MONOTONIC), so a timestamp taken in
 * the publisher can be subtracted from one taken in a subscriber worker. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
