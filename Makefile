# segalloc: the header is the product; this Makefile builds what is around it.
#   make demo       build and run the examples
#   make test       build and run every test (tests/run.sh); ends with "N passed, N failed"
#   make preload    build/libsegalloc.so, for LD_PRELOAD
#   make bench      the benchmark suite against glibc, jemalloc, TCMalloc and mimalloc
#   make amalgamate regenerate segalloc.h from src/ (and the size-class table)
CC ?= cc
CXX ?= c++
CFLAGS ?= -O2
B := build

.PHONY: all demo test preload bench amalgamate setup clean

all: preload

$(B):
	mkdir -p $(B)

preload: $(B)/libsegalloc.so

$(B)/libsegalloc.so: segalloc.h examples/preload.c | $(B)
	$(CC) $(CFLAGS) -Wall -Wextra -fPIC -shared -fno-semantic-interposition -fexceptions \
	  -DSEGALLOC_TLS_MODEL='"initial-exec"' -o $@ examples/preload.c -pthread -ldl

demo: | $(B)
	$(CC) $(CFLAGS) -o $(B)/basic examples/basic.c -pthread && ./$(B)/basic
	$(CC) $(CFLAGS) -o $(B)/threads examples/threads.c -pthread && ./$(B)/threads
	$(CC) $(CFLAGS) -DSEGALLOC_PAGE_SIZE=65536 -DSEGALLOC_ARENA_SIZE=4194304 -o $(B)/custom_pages examples/custom_pages.c -pthread && ./$(B)/custom_pages

test: preload
	bash tests/run.sh

bench: preload
	python3 bench/run.py

amalgamate:
	python3 tools/mksizeclasses.py > src/sizeclass_table.h
	python3 amalgamate.py

setup:
	bash tests/setup.sh

clean:
	rm -rf $(B)
