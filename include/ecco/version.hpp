#pragma once

namespace ecco {
// The project version from CMakeLists.txt, e.g. "0.1.0".
const char* version();
}  // namespace ecco
