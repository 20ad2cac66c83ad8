// zlib (Debian's zlib1g-dev) for COMPRESS=DEFLATE (RFC 4978). deflateInit2 and
// inflateInit2 are macros Swift cannot call; these wrappers pass the version and the
// structure size as the macros do.
#include <zlib.h>

static inline int czlib_deflate_init(z_stream *stream, int level, int window_bits, int mem_level) {
    return deflateInit2(stream, level, Z_DEFLATED, window_bits, mem_level, Z_DEFAULT_STRATEGY);
}

static inline int czlib_inflate_init(z_stream *stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}
