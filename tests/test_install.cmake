# test_install.cmake — the SDK as an engine developer gets it (cmake -P, from CTest):
#   1. cmake --install BIN --prefix WORK/prefix: every promised file is there; the library's
#      SONAME is versioned;
#   2. tests/consumer (outside the tree) builds with find_package(circumplex CONFIG) and, again,
#      with pkg-config, runs, and finds the default model in the prefix with no model_path;
#   3. the prefix moved elsewhere: both builds again, against the new place;
#   4. with DEB=1: the CPack .deb lists its Debian dependencies and files (dpkg-deb), and,
#      extracted with dpkg -x, its circumplex runs and its library serves the consumer.
# Arguments: -DBIN=build dir -DSRC=source dir -DWORK=scratch dir [-DDEB=1]
cmake_minimum_required(VERSION 3.25)
foreach(v BIN SRC WORK)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "test_install.cmake needs -D${v}=...")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

function(run)  # run(<command...>): runs it, fails the test with its output if it fails
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# Builds and runs the consumer against PREFIX both ways.
function(consume prefix tag)
  run(${CMAKE_COMMAND} -S ${SRC}/tests/consumer -B ${WORK}/consumer-${tag} -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
  run(${CMAKE_COMMAND} --build ${WORK}/consumer-${tag})
  run(${WORK}/consumer-${tag}/consumer ${prefix})
  message(STATUS "find_package consumer (${tag}): ${last_output}")
  set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
  run(pkg-config --cflags --libs circumplex)
  string(STRIP "${last_output}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run(cc -std=c99 ${SRC}/tests/consumer/consumer.c ${flags} -Wl,-rpath,${prefix}/lib -o ${WORK}/consumer-${tag}-pc)
  run(${WORK}/consumer-${tag}-pc ${prefix})
  message(STATUS "pkg-config consumer (${tag}): ${last_output}")
endfunction()

set(prefix ${WORK}/prefix)
run(${CMAKE_COMMAND} --install ${BIN} --prefix ${prefix} --strip)
foreach(f bin/circumplex include/circumplex.h include/circumplex.hpp lib/libcircumplex.so lib/libcircumplex.so.0
          lib/cmake/circumplex/circumplexConfig.cmake lib/cmake/circumplex/circumplexConfigVersion.cmake
          lib/cmake/circumplex/circumplexTargets.cmake lib/pkgconfig/circumplex.pc
          share/circumplex/models/default/manifest.json share/circumplex/models/default/weights.safetensors
          share/circumplex/models/judge/manifest.json share/circumplex/bindings/python/circumplex.py
          share/circumplex/bindings/csharp/Circumplex.cs)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "the install has no ${f}")
  endif()
endforeach()
# The Unity package: its manifest names this version, and its C# compiles under Mono against
# the Unity stubs (where mcs is installed), as the source tree's does in test_plugin_unity.
set(upm ${prefix}/share/circumplex/unity/com.circumplex.face)
foreach(f package.json Runtime/Circumplex.cs Runtime/CircumplexFace.cs Runtime/Circumplex.Runtime.asmdef
          Plugins/x86_64/libcircumplex.so Samples~/CircleWalkFace/README.md)
  if(NOT EXISTS ${upm}/${f})
    message(FATAL_ERROR "the Unity package has no ${f}")
  endif()
endforeach()
file(READ ${upm}/package.json upm_json)
string(JSON upm_name GET "${upm_json}" name)
string(JSON upm_version GET "${upm_json}" version)
if(NOT upm_name STREQUAL "com.circumplex.face" OR NOT upm_version MATCHES "^[0-9]+\\.[0-9]+\\.[0-9]+$")
  message(FATAL_ERROR "package.json: name ${upm_name}, version ${upm_version}")
endif()
find_program(MCS mcs)
if(MCS)
  run(${MCS} -nologo -target:library -out:${WORK}/upm.dll ${upm}/Runtime/Circumplex.cs ${upm}/Runtime/CircumplexFace.cs
      ${SRC}/tests/test_plugin_unity_stubs.cs)
endif()
run(readelf -d ${prefix}/lib/libcircumplex.so)
if(NOT last_output MATCHES "SONAME[^\n]*libcircumplex\\.so\\.0\\]")
  message(FATAL_ERROR "libcircumplex.so has no versioned SONAME:\n${last_output}")
endif()
# Relocatable: no file of the SDK names the prefix it was installed to.
foreach(f lib/cmake/circumplex/circumplexTargets.cmake lib/cmake/circumplex/circumplexConfig.cmake lib/pkgconfig/circumplex.pc)
  file(READ ${prefix}/${f} text)
  string(FIND "${text}" "${prefix}" at)
  if(NOT at EQUAL -1)
    message(FATAL_ERROR "${f} names the install prefix ${prefix}: the prefix could not be moved")
  endif()
endforeach()

file(REAL_PATH ${prefix} prefix)
consume(${prefix} installed)
set(moved ${WORK}/moved/elsewhere)
file(MAKE_DIRECTORY ${WORK}/moved)
file(RENAME ${prefix} ${moved})
consume(${moved} moved)

if(DEB)
  run(cpack -G DEB -B ${WORK}/deb --config ${BIN}/CPackConfig.cmake)
  file(GLOB debs ${WORK}/deb/*.deb)
  list(LENGTH debs n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "cpack made ${n} .deb files: ${debs}")
  endif()
  run(dpkg-deb -f ${debs} Depends)
  message(STATUS ".deb Depends: ${last_output}")
  foreach(dep libtorch libopencv liblo)
    if(NOT last_output MATCHES "${dep}")
      message(FATAL_ERROR "the .deb does not depend on ${dep}: ${last_output}")
    endif()
  endforeach()
  run(dpkg-deb -c ${debs})
  foreach(f ./usr/bin/circumplex ./usr/lib/libcircumplex.so.0.1.0 ./usr/include/circumplex.h ./usr/share/circumplex/models/default/manifest.json)
    string(FIND "${last_output}" "${f}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "the .deb has no ${f}")
    endif()
  endforeach()
  run(dpkg -x ${debs} ${WORK}/deb-root)
  run(${WORK}/deb-root/usr/bin/circumplex --version)
  message(STATUS "extracted circumplex: ${last_output}")
  consume(${WORK}/deb-root/usr deb)
endif()
