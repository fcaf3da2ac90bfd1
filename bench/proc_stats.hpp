// What the bench reads about the gateway process from /proc, as any operator could.
#pragma once

#include <sys/types.h>

#include <cstdint>

namespace rdpbridge::bench {

// utime + stime of every thread of `pid`, in seconds (/proc/PID/stat; clock-tick resolution).
double cpu_seconds(pid_t pid);
// Resident set size in bytes (/proc/PID/status VmRSS).
uint64_t rss_bytes(pid_t pid);
// CPU time of the calling thread, in seconds: bounds measured in-process use it, so that other
// load on the machine does not lower them.
double thread_cpu_seconds();
// The 1-minute load average (/proc/loadavg): how busy the machine was around a measurement, to
// read its noise by. Other work on the machine competes with the gateway and the peers.
double load_average();
// CPUs this process may run on (sched_getaffinity), as rdpbridge counts them for its default
// --workers; a child inherits the affinity, so the bench can give a peer proxy the same number.
int usable_cpus();

}  // namespace rdpbridge::bench
