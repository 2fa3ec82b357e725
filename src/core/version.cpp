#include "ecco/version.hpp"

namespace ecco {
const char* version() { return ECCO_VERSION; }
}  // namespace ecco
