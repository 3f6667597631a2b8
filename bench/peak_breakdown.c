/* peak_breakdown.c - where segalloc's memory is when a workload's footprint peaks.
 *
 *   cc -O2 -pthread -o bench/peak_breakdown bench/workloads.c bench/peak_breakdown.c -lm
 *   bench/peak_breakdown NAME [SCALE]     (the arguments of bench/workloads)
 *
 * Links segalloc into bench/workloads (segalloc.h with SEGALLOC_OVERRIDE) and starts a
 * thread before main that reads segalloc_stats() every half millisecond. At exit it prints
 * the sample whose sum of live + thread caches + central lists + page-heap free + metadata
 * was the largest: the answer to "what holds the bytes at the peak". "central" counts the
 * never-used tails of spans too, which are not resident, so the sum overstates RSS. */
#define SEGALLOC_OVERRIDE
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static segalloc_stats_t peak_st, cur_st;
static size_t peak_sum;
static int stop;

static void *monitor(void *arg) {
  (void)arg;
  const struct timespec half_ms = {0, 500000};
  while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
    segalloc_stats(&cur_st);
    size_t sum = cur_st.live + cur_st.thread_cached + cur_st.central + cur_st.pageheap_free + cur_st.metadata;
    if (sum > peak_sum) {
      peak_sum = sum;
      peak_st = cur_st;
    }
    nanosleep(&half_ms, NULL);
  }
  return NULL;
}

static pthread_t monitor_thread;
static int monitor_started;

__attribute__((constructor)) static void start_monitor(void) {
  monitor_started = pthread_create(&monitor_thread, NULL, monitor, NULL) == 0;
  if (!monitor_started) fputs("peak_breakdown: no monitor thread\n", stderr);
}

__attribute__((destructor)) static void report(void) {
  if (!monitor_started) return;
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  pthread_join(monitor_thread, NULL);
  fprintf(stderr,
          "peak_breakdown: KiB at the largest sample (%zu): live %zu, thread caches %zu, "
          "central lists %zu, page-heap free %zu, metadata %zu\n",
          peak_sum >> 10, peak_st.live >> 10, peak_st.thread_cached >> 10, peak_st.central >> 10,
          peak_st.pageheap_free >> 10, peak_st.metadata >> 10);
}
