/**
 * CPU accounting for the benchmarks: on a machine other processes load, wall-clock rates move with the load
 * but the CPU time each verified payment costs barely does, so the benches report both. Linux only for the
 * PostgreSQL side (/proc); elsewhere it reads 0.
 */
import { readdirSync, readFileSync } from 'node:fs'

/**
 * CPU ms used so far by PostgreSQL server processes on this machine: only the backends serving `database`
 * when given (their process title names it), else every server process (other databases' work included).
 * Read from /proc/<pid>/schedstat (nanoseconds on the CPU), else from the clock ticks of /proc/<pid>/stat
 * (10 ms each: too coarse for the short floor measurements, which add up a few dozen ms per round).
 */
export function postgresCpuMs(database?: string): number {
  let ms = 0
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p))
  } catch {
    return 0
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      if (!stat.includes('(postgres)')) continue
      if (database && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(` ${database} `)) continue
      ms += onCpuMs(pid, stat)
    } catch {
      // the process ended meanwhile
    }
  }
  return ms
}

/** CPU ms of one process: schedstat's nanoseconds when the kernel keeps them, else stat's ticks. */
function onCpuMs(pid: string, stat: string): number {
  try {
    const ns = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0])
    if (Number.isFinite(ns)) return ns / 1e6
  } catch {
    // no schedstat: fall back to ticks
  }
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * 10 // USER_HZ is 100 on Linux
}

/** CPU ms this process (every thread) and PostgreSQL (see postgresCpuMs) spent while `fn` ran, with its result. */
export async function withCpu<T>(
  fn: () => Promise<T>,
  database?: string,
): Promise<{ value: T; bridgeMs: number; postgresMs: number }> {
  const pg0 = postgresCpuMs(database)
  const c0 = process.cpuUsage()
  const value = await fn()
  const c = process.cpuUsage(c0)
  return { value, bridgeMs: (c.user + c.system) / 1000, postgresMs: postgresCpuMs(database) - pg0 }
}
