# ECCO_SANITIZE=address,undefined adds the sanitizers to every target of the project.
if(ECCO_SANITIZE)
  add_compile_options(-fsanitize=${ECCO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${ECCO_SANITIZE})
endif()
