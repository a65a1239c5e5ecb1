// The public header compiles as C++ (no C-only constructs, extern "C" linkage) and links
// against the C library.
#include "turnstile.h"

#include <cstdio>
#include <cstring>

int main() {
    static_assert(TS_VERSION_MAJOR == 2, "major version");
    ts_lease_id id = {};
    char text[TS_LEASE_ID_TEXT_LEN + 1];
    ts_lease_id_format(&id, text);
    ts_options *o = nullptr;
    if (ts_options_create(&o) != TS_OK) return 1;
    ts_options_destroy(o);
    bool ok = std::strcmp(ts_code_name(TS_CODE_LEASE_ID_NOT_FOUND), TS_NAME_LEASE_ID_NOT_FOUND) == 0 &&
              std::strcmp(text, "00000000-0000-0000-0000-000000000000") == 0 &&
              std::strcmp(ts_version(), TS_VERSION_STRING) == 0;
    std::printf("header_cxx: %d passed, %d failed\n", ok ? 1 : 0, ok ? 0 : 1);
    return ok ? 0 : 1;
}
