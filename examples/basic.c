/* basic.c: segalloc as a plain library in one program: allocate, grow, align, free, and
   ask the allocator where the bytes are.

   Build and run (from the repository root):
     cc -O2 -o build/basic examples/basic.c -pthread && ./build/basic
*/
#define SEGALLOC_IMPLEMENTATION
#include "../segalloc.h"

#include <stdio.h>
#include <string.h>

int main(void) {
  /* a linked list of small records */
  typedef struct node { struct node *next; char name[40]; } node;
  node *head = NULL;
  for (int i = 0; i < 100000; i++) {
    node *n = (node *)segalloc_malloc(sizeof *n);
    if (!n) return 1;
    snprintf(n->name, sizeof n->name, "node %d", i);
    n->next = head;
    head = n;
  }
  printf("first node: %s (usable %zu bytes for a %zu-byte request)\n", head->name,
         segalloc_usable_size(head), sizeof(node));

  /* a buffer that grows by realloc, keeping its contents */
  char *buf = NULL;
  size_t len = 0;
  for (int i = 0; i < 20000; i++) {
    char word[16];
    int w = snprintf(word, sizeof word, "%d,", i);
    buf = (char *)segalloc_realloc(buf, len + (size_t)w + 1);
    memcpy(buf + len, word, (size_t)w + 1);
    len += (size_t)w;
  }
  printf("buffer of %zu bytes ends with \"%s\"\n", len, buf + len - 6);

  /* an aligned block, e.g. for SIMD or a page-aligned I/O buffer */
  void *aligned = segalloc_aligned_alloc(4096, 10000);
  printf("aligned_alloc(4096, 10000) = %p (aligned: %s)\n", aligned, ((uintptr_t)aligned % 4096) ? "no" : "yes");

  segalloc_stats_t st;
  segalloc_stats(&st);
  printf("while holding them: %zu bytes live, %zu mapped, %llu mallocs\n", st.live, st.mapped,
         (unsigned long long)st.mallocs);

  while (head) {
    node *next = head->next;
    segalloc_free(head);
    head = next;
  }
  segalloc_free(buf);
  segalloc_free(aligned);
  segalloc_trim(); /* give back what can go back now */
  segalloc_stats(&st);
  printf("after free and trim: %zu bytes live, %zu released to the OS\n", st.live, st.released);
  fflush(stdout); /* the report is written with write(2), past stdio's buffer */
  segalloc_print_stats(1);
  return 0;
}
