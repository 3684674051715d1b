// CJanssonArena: jansson parsing with its nodes taken from a per-thread arena.
//
// json_loadb allocates every node, string and hash bucket of the tree separately (about a
// hundred malloc/free pairs for one Celery envelope); CeleryJSON copies the tree into Swift
// values at once and frees it. Parsing through these functions takes that memory from a
// 64 KiB arena of the calling thread instead, freed all at once by the release; what does
// not fit falls back to malloc. Only CeleryJSON uses this target.
#ifndef C_JANSSON_ARENA_H
#define C_JANSSON_ARENA_H

#include <jansson.h>

/// json_loadb, with the tree in the calling thread's arena. The tree must be released with
/// cjansson_arena_release on the same thread, before that thread parses again (a nested parse
/// is allowed: it uses malloc). Returns NULL with `error` set on a syntax error.
json_t *cjansson_arena_loadb(const char *buffer, size_t length, size_t flags, json_error_t *error);

/// json_decref of a tree from cjansson_arena_loadb, then the arena is empty again.
void cjansson_arena_release(json_t *root);

#endif
