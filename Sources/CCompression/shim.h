// CCompression: the system compression libraries kombu's codecs use, as one Swift module:
// zlib (zlib1g-dev), bzip2 (libbz2-dev), xz/lzma (liblzma-dev), zstd (libzstd-dev) and
// brotli (libbrotli-dev). Only CeleryCompression imports it.
//
// zlib's inflateInit/deflateInit are function-like macros, which Swift does not import;
// they are re-exposed here as prefixed static inline functions.
#ifndef C_COMPRESSION_SHIM_H
#define C_COMPRESSION_SHIM_H

#include <zlib.h>
#include <bzlib.h>
#include <lzma.h>
#include <zstd.h>
#include <brotli/encode.h>
#include <brotli/decode.h>

/// `inflateInit(stream)`: a zlib-format (RFC 1950) decoder, as Python's `zlib.decompress`.
static inline int ccompression_inflate_init(z_stream *stream) { return inflateInit(stream); }

/// `deflateInit(stream, level)`: a zlib-format encoder, as Python's `zlib.compress`.
static inline int ccompression_deflate_init(z_stream *stream, int level) { return deflateInit(stream, level); }

#endif
