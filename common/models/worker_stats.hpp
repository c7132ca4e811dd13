// What --stats reads for workers that are threads: each thread's CPU clock, and the process's
// totals (threads share one address space, so peak RSS is the process's).
#pragma once

#include <sys/resource.h>

#include <thread>
#include <vector>

#include "model.hpp"

namespace sockserv {

/// User + system seconds of a running thread, from its own CPU clock (0 once it has ended).
double thread_cpu_seconds(const std::thread& thread);
/// User + system seconds of the calling thread: a worker thread reads it as it ends, since
/// nobody can read the clock of a thread that has ended.
double this_thread_cpu_seconds();
/// User + system seconds in `usage` (from getrusage(2) or wait4(2)).
double cpu_seconds(const rusage& usage);
/// `lines` (one per thread) with the process's peak RSS filled in, and a "total" line that
/// sums their counts and gives the whole process's CPU time.
std::vector<WorkerStats> with_process_total(std::vector<WorkerStats> lines);

}  // namespace sockserv
