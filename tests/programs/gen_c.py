#!/usr/bin/env python3
"""Write a deterministic C program with many functions to stdout.

tests/programs/run.sh compiles it with gcc -O2, plain and on segalloc, and compares the
object files and the program's output. The functions mix loops (vectorisable), switch
tables, structs, recursion, string tables and function pointers so that cc1's optimiser
has plenty to allocate for.

Usage: gen_c.py [nfuncs]   (default 400)
"""
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 400
out = []
w = out.append

w("#include <stdio.h>\n#include <stdint.h>\n#include <string.h>\n")
w("struct pt { int64_t x, y, z; uint32_t tag; };\n")
w("static const char *words[] = {%s};\n" %
  ", ".join('"word%d_%s"' % (i, "abcdefgh"[: 1 + i % 8]) for i in range(64)))
w("static uint64_t mixu(uint64_t h, uint64_t v) { h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2); return h; }\n")

for i in range(N):
    k = i % 6
    w("__attribute__((noinline)) static uint64_t f%d(uint64_t a, int n)\n{\n" % i)
    if k == 0:
        w("  uint32_t buf[%d];\n  for (int j = 0; j < %d; j++) buf[j] = (uint32_t)(a * %du + j * %du);\n"
          % (64 + i % 32, 64 + i % 32, 2654435761 % (i + 7) + 1, i + 3))
        w("  uint64_t s = 0;\n  for (int r = 0; r < n; r++)\n    for (int j = 0; j < %d; j++) s += buf[j] ^ (buf[(j + r) %% %d] >> %d);\n"
          % (64 + i % 32, 64 + i % 32, 1 + i % 13))
        w("  return s;\n")
    elif k == 1:
        w("  uint64_t s = a;\n  for (int j = 0; j < n; j++) {\n    switch ((s + j) %% %d) {\n" % (8 + i % 9))
        for c in range(8 + i % 9):
            w("    case %d: s = s * %d + %d; break;\n" % (c, 3 + 2 * c, i * c + 1))
        w("    default: s ^= s >> 3;\n    }\n  }\n  return s;\n")
    elif k == 2:
        w("  struct pt p[%d];\n  for (int j = 0; j < %d; j++) { p[j].x = (int64_t)a + j; p[j].y = j * %d; p[j].z = -j; p[j].tag = (uint32_t)(j ^ %d); }\n"
          % (16 + i % 16, 16 + i % 16, i + 1, i))
        w("  int64_t acc = 0;\n  for (int r = 0; r < n; r++) for (int j = 0; j < %d; j++) acc += p[j].x * p[(j + r) %% %d].y - p[j].z + p[j].tag;\n"
          % (16 + i % 16, 16 + i % 16))
        w("  return (uint64_t)acc;\n")
    elif k == 3:
        w("  if (n <= 1) return a + %d;\n  return f%d(a * 3 + 1, n - 1) + (n %% 3 == 0 ? f%d(a, n - 2) : 0);\n"
          % (i, i, i))
    elif k == 4:
        w("  uint64_t h = a;\n  for (int j = 0; j < n; j++) {\n    const char *s = words[(a + j * %d) %% 64];\n"
          "    size_t L = strlen(s);\n    for (size_t q = 0; q < L; q++) h = h * 131 + (unsigned char)s[q];\n  }\n  return h;\n" % (i + 1))
    else:
        prev = [j for j in range(max(0, i - 5), i) if j % 6 != 3]
        w("  static uint64_t (*const tab[])(uint64_t, int) = {%s};\n" %
          ", ".join("f%d" % j for j in prev) if prev else "")
        if prev:
            w("  uint64_t s = a;\n  for (int j = 0; j < %d; j++) s = mixu(s, tab[j](s + %d, n / 4 + 1));\n  return s;\n"
              % (len(prev), i))
        else:
            w("  return a * %d + (uint64_t)n;\n" % (i + 1))
    w("}\n\n")

w("int main(void)\n{\n  uint64_t h = 0;\n")
for i in range(N):
    n = 6 if i % 6 == 3 else 5 + i % 20
    w("  h = mixu(h, f%d(%du, %d));\n" % (i, i * 7 + 1, n))
    if i % 50 == 49:
        w('  printf("after f%d %%016llx\\n", (unsigned long long)h);\n' % i)
w('  printf("checksum %016llx\\n", (unsigned long long)h);\n  return 0;\n}\n')

sys.stdout.write("".join(out))
