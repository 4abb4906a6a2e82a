/*  =========================================================================
    sf_alloc - memory, under one out-of-memory policy: abort with a message

    sheaf does not try to carry on without memory: a failed allocation
    prints where it happened and aborts the process, as czmq's zmalloc
    does. Every allocation in common/, cli/, worker/, scheduler/ and
    broker/ (the stores' files aside, which abort on NULL) goes
    through these macros, so no caller checks for NULL and none forgets
    to. A daemon that aborts is restarted by its supervisor (systemd, or
    sheaf-worker --processes), and the broker's store keeps what it had
    acknowledged (docs/ARCHITECTURE.md, "Out of memory").
    ========================================================================= */

#ifndef SF_ALLOC_H_INCLUDED
#define SF_ALLOC_H_INCLUDED

#include <stddef.h>

//  size zeroed bytes (never NULL, also for size 0). Free with free().
#define sf_alloc(size) sf_alloc_array_at (1, (size), __FILE__, __LINE__)

//  count zeroed elements of size bytes; a product that overflows is out
//  of memory too.
#define sf_alloc_array(count, size) sf_alloc_array_at ((count), (size), __FILE__, __LINE__)

//  block (or NULL) grown or shrunk to count elements of size bytes, its
//  contents kept; new bytes are not zeroed. The old pointer is invalid.
#define sf_alloc_resize(block, count, size) \
    sf_alloc_resize_at ((block), (count), (size), __FILE__, __LINE__)

//  A copy of text, or of its first size bytes (and a NUL).
#define sf_alloc_strdup(text) sf_alloc_strndup_at ((text), (size_t) -1, __FILE__, __LINE__)
#define sf_alloc_strndup(text, size) sf_alloc_strndup_at ((text), (size), __FILE__, __LINE__)

//  pointer as it is, when a library that reports out of memory by
//  returning NULL (Jansson's json_dumps, json_object, …) gave it; aborts
//  when it is NULL. Only for calls whose sole failure is out of memory.
#define sf_alloc_check(pointer) sf_alloc_check_at ((pointer), __FILE__, __LINE__)

//  Abort as out of memory: for a library call whose only failure is that
//  and which reports it by return value (msgpack_sbuffer_write).
#define sf_alloc_failed() sf_alloc_check_at (NULL, __FILE__, __LINE__)

void *sf_alloc_array_at (size_t count, size_t size, const char *file, int line);
void *sf_alloc_resize_at (void *block, size_t count, size_t size, const char *file, int line);
char *sf_alloc_strndup_at (const char *text, size_t size, const char *file, int line);
void *sf_alloc_check_at (void *pointer, const char *file, int line);

#endif
