#pragma once

namespace ecco {
inline constexpr const char* kVersion = "0.1.0";
}
