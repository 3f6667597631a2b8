/* threads.c: several threads allocating at once, each from its own cache with no lock,
   and blocks handed from one thread to another to be freed there (a producer/consumer
   queue). At the end the statistics show every block came back.

   Build and run (from the repository root):
     cc -O2 -o build/threads examples/threads.c -pthread && ./build/threads
*/
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define QUEUE 1024
#define MESSAGES 200000

static char *queue[QUEUE];
static unsigned head, tail;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static void *producer(void *arg) {
  (void)arg;
  for (int i = 0; i < MESSAGES; i++) {
    char *msg = (char *)segalloc_malloc(16 + (size_t)(i % 200)); /* freed by the consumer */
    snprintf(msg, 16, "msg %d", i);
    pthread_mutex_lock(&lock);
    while (head - tail == QUEUE) pthread_cond_wait(&cond, &lock);
    queue[head++ % QUEUE] = msg;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
  }
  return NULL;
}

static void *consumer(void *arg) {
  long *sum = (long *)arg;
  for (int i = 0; i < MESSAGES; i++) {
    pthread_mutex_lock(&lock);
    while (head == tail) pthread_cond_wait(&cond, &lock);
    char *msg = queue[tail++ % QUEUE];
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    *sum += (long)strlen(msg);
    segalloc_free(msg);
  }
  return NULL;
}

static void *worker(void *arg) {
  long *sum = (long *)arg;
  void *keep[256] = {0};
  for (int i = 0; i < 1000000; i++) { /* churn of mixed small sizes, all thread-local */
    unsigned k = (unsigned)i * 2654435761u % 256;
    segalloc_free(keep[k]);
    keep[k] = segalloc_malloc(8 + (size_t)(i % 500));
    *sum += 1;
  }
  for (int k = 0; k < 256; k++) segalloc_free(keep[k]);
  return NULL;
}

int main(void) {
  pthread_t t[4];
  long sums[4] = {0, 0, 0, 0};
  pthread_create(&t[0], NULL, producer, NULL);
  pthread_create(&t[1], NULL, consumer, &sums[1]);
  pthread_create(&t[2], NULL, worker, &sums[2]);
  pthread_create(&t[3], NULL, worker, &sums[3]);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  segalloc_stats_t st;
  segalloc_stats(&st);
  printf("consumer read %ld bytes of messages; workers made %ld allocations\n", sums[1], sums[2] + sums[3]);
  printf("after the threads exit: %zu bytes live, %llu mallocs, %llu frees, %zu thread caches\n", st.live,
         (unsigned long long)st.mallocs, (unsigned long long)st.frees, st.threads);
  return st.live == 0 && st.mallocs == st.frees ? 0 : 1;
}
