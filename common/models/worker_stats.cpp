// Per-thread CPU clocks and the process's usage, for --stats.
#include "worker_stats.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

namespace sockserv {
namespace {

double seconds(const timespec& t) {
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

}  // namespace

double thread_cpu_seconds(const std::thread& thread) {
  clockid_t clock{};
  timespec cpu{};
  if (!thread.joinable()) return 0;
  // native_handle() is not const in libstdc++, though reading the clock changes nothing.
  pthread_t handle = const_cast<std::thread&>(thread).native_handle();
  if (::pthread_getcpuclockid(handle, &clock) != 0 || ::clock_gettime(clock, &cpu) != 0) return 0;
  return seconds(cpu);
}

double this_thread_cpu_seconds() {
  timespec cpu{};
  if (::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) != 0) return 0;
  return seconds(cpu);
}

double cpu_seconds(const rusage& usage) {
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::vector<WorkerStats> with_process_total(std::vector<WorkerStats> lines) {
  WorkerStats total{.worker = "total"};
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  total.peak_rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;
  total.cpu_seconds = cpu_seconds(usage);  // every thread's, those that have ended too
  for (WorkerStats& line : lines) {
    line.peak_rss_mib = total.peak_rss_mib;
    total.accepted += line.accepted;
    total.empty_wakeups += line.empty_wakeups;
  }
  lines.push_back(total);
  return lines;
}

}  // namespace sockserv
