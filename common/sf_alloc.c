/*  =========================================================================
    sf_alloc - memory, under one out-of-memory policy: abort with a message

    The message is written with one write(2) of a buffer on the stack:
    stdio and the logger may need memory themselves.

    Jansson reports a failed allocation by returning NULL from whatever
    call needed memory, and json_object_set_new then drops the value: a
    result or a job would lose fields without a word. Its allocator is set,
    once, as the library is loaded, to one that aborts with a message
    instead; it frees with free(), so values made before are freed alike.
    ========================================================================= */

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sf_alloc.h"

//  Say where memory ran out (and for how many elements of how many
//  bytes, when known: count 0 when not), and abort.
__attribute__ ((noreturn)) static void
s_out_of_memory (size_t count, size_t size, const char *file, int line)
{
    char message [256];
    int length = count
        ? snprintf (message, sizeof message,
                    "sheaf: out of memory at %s:%d (%zu x %zu bytes); aborting\n",
                    file, line, count, size)
        : snprintf (message, sizeof message, "sheaf: out of memory at %s:%d; aborting\n",
                    file, line);
    if (length > 0) {
        ssize_t written = write (STDERR_FILENO, message,
                                 (size_t) length < sizeof message? (size_t) length:
                                                                   sizeof message - 1);
        (void) written;         //  Nothing better to do: we abort either way
    }
    abort ();
}

//  --------------------------------------------------------------------------
//  count zeroed elements of size bytes; never NULL.

void *
sf_alloc_array_at (size_t count, size_t size, const char *file, int line)
{
    if (size && count > SIZE_MAX / size)
        s_out_of_memory (count, size, file, line);
    //  calloc may return NULL for 0 bytes; callers get a block to free
    void *block = calloc (count? count: 1, size? size: 1);
    if (!block)
        s_out_of_memory (count, size, file, line);
    return block;
}

//  --------------------------------------------------------------------------
//  block resized to count elements of size bytes; never NULL.

void *
sf_alloc_resize_at (void *block, size_t count, size_t size, const char *file, int line)
{
    if (size && count > SIZE_MAX / size)
        s_out_of_memory (count, size, file, line);
    size_t bytes = count * size;
    void *resized = realloc (block, bytes? bytes: 1);
    if (!resized)
        s_out_of_memory (count, size, file, line);
    return resized;
}

//  --------------------------------------------------------------------------
//  A copy of text up to its NUL or size bytes, NUL-terminated; never NULL.

char *
sf_alloc_strndup_at (const char *text, size_t size, const char *file, int line)
{
    //  An empty msgpack str may come with a NULL pointer
    size_t length = size? strnlen (text, size): 0;
    char *copy = (char *) malloc (length + 1);
    if (!copy)
        s_out_of_memory (1, length + 1, file, line);
    if (length)
        memcpy (copy, text, length);
    copy [length] = 0;
    return copy;
}

//  --------------------------------------------------------------------------
//  pointer, unless it is NULL: then out of memory.

void *
sf_alloc_check_at (void *pointer, const char *file, int line)
{
    if (!pointer)
        s_out_of_memory (0, 0, file, line);
    return pointer;
}

//  --------------------------------------------------------------------------
//  Jansson under the same policy.

static void *
s_json_malloc (size_t size)
{
    return sf_alloc_check (malloc (size? size: 1));
}

__attribute__ ((constructor)) static void
s_json_policy (void)
{
    json_set_alloc_funcs (s_json_malloc, free);
}
