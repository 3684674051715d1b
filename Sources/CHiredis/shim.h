// CHiredis: the system hiredis (Debian's libhiredis-dev, 0.14) as a Swift module.
//
// Swift imports struct fields that are fixed-size char arrays as tuples and cannot read
// through the opaque reader pointer comfortably, so the few context fields the CeleryRedis
// layer needs are exposed through these prefixed accessors instead.
#ifndef C_HIREDIS_SHIM_H
#define C_HIREDIS_SHIM_H

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

/// The context's error code (REDIS_ERR_IO, REDIS_ERR_EOF, ...), 0 when healthy.
static inline int chiredis_err(const redisContext *c) { return c->err; }

/// The context's NUL-terminated error text.
static inline const char *chiredis_errstr(const redisContext *c) { return c->errstr; }

/// The socket the context reads from, for poll(2).
static inline int chiredis_fd(const redisContext *c) { return c->fd; }

/// Takes one complete reply already buffered by the reader, without touching the socket.
/// Returns REDIS_OK with *reply == NULL when no complete reply is buffered yet.
static inline int chiredis_buffered_reply(redisContext *c, void **reply) {
    return redisReaderGetReply(c->reader, reply);
}

/// Sets how much free space the reader's buffer may keep once it is empty (hiredis frees a
/// larger one and starts again from nothing; 0 keeps any size).
static inline void chiredis_set_reader_max_idle_buffer(redisContext *c, size_t bytes) { c->reader->maxbuf = bytes; }

#endif
