# ecco_target_warnings(<target>): the project's warning set, applied per target so that
# third-party headers (included as SYSTEM by their imported targets) stay quiet.
function(ecco_target_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
    -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
  if(ECCO_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
