// Per-thread bump arena behind jansson's allocator hooks; see CJanssonArena.h.
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include "CJanssonArena.h"

enum { ARENA_SIZE = 64 * 1024, ALIGNMENT = 16 };

typedef struct {
    char *base;         // ARENA_SIZE bytes, allocated on the thread's first parse
    size_t used;
    int active;         // a tree from this arena is alive on this thread
    json_t *outer_root; // that tree's root (itself in the arena or, when it did not fit, not)
} Arena;

static __thread Arena arena;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_key_t arena_key;

static int in_arena(const void *pointer) {
    return arena.base != NULL && (const char *)pointer >= arena.base && (const char *)pointer < arena.base + ARENA_SIZE;
}

static void *arena_malloc(size_t size) {
    if (arena.active) {
        size_t rounded = (size + (ALIGNMENT - 1)) & ~(size_t)(ALIGNMENT - 1);
        if (rounded >= size && ARENA_SIZE - arena.used >= rounded) {
            void *pointer = arena.base + arena.used;
            arena.used += rounded;
            return pointer;
        }
    }
    return malloc(size);
}

// Memory of the arena is given back all at once by the release; the rest came from malloc.
static void arena_free(void *pointer) {
    if (!in_arena(pointer)) free(pointer);
}

static void free_thread_arena(void *base) { free(base); }

static void install(void) {
    pthread_key_create(&arena_key, free_thread_arena);
    json_set_alloc_funcs(arena_malloc, arena_free);
}

json_t *cjansson_arena_loadb(const char *buffer, size_t length, size_t flags, json_error_t *error) {
    pthread_once(&install_once, install);
    if (arena.active) {
        // Nested parse on this thread: plain malloc for this tree.
        arena.active = 0;
        json_t *root = json_loadb(buffer, length, flags, error);
        arena.active = 1;
        return root;
    }
    if (arena.base == NULL) {
        arena.base = malloc(ARENA_SIZE);
        if (arena.base == NULL) return json_loadb(buffer, length, flags, error);
        pthread_setspecific(arena_key, arena.base);
    }
    arena.used = 0;
    arena.active = 1;
    json_t *root = json_loadb(buffer, length, flags, error);
    arena.outer_root = root;
    if (root == NULL) arena.active = 0;
    return root;
}

void cjansson_arena_release(json_t *root) {
    // The outermost tree empties the arena, wherever its root node itself was allocated.
    int outermost = arena.active && root == arena.outer_root;
    json_decref(root);
    if (outermost) {
        arena.used = 0;
        arena.active = 0;
        arena.outer_root = NULL;
    }
}
