#ifndef CMALLOCCOUNTER_H
#define CMALLOCCOUNTER_H

/// Heap allocations (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) made
/// by the whole process since it started. Linking this target into an executable replaces
/// glibc's allocation entry points with counting ones that forward to glibc's own.
unsigned long cmalloc_counter_allocations(void);

#endif
