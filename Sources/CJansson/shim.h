// CJansson: the system jansson (Debian's libjansson-dev, 2.14) as a Swift module.
//
// json_typeof and the json_is_* family are function-like macros, which Swift does not
// import; this header re-exposes what CeleryJSON needs as prefixed static inline functions.
#ifndef C_JANSSON_SHIM_H
#define C_JANSSON_SHIM_H

#include <jansson.h>

/// The value's type (JSON_OBJECT, JSON_ARRAY, ...); `json_typeof` is a macro.
static inline json_type cjansson_typeof(const json_t *json) { return json_typeof(json); }

#endif
