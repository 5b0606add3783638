# cmake/install.cmake — what `cmake --install build --prefix P` puts where, and the .deb.
#
#   P/bin/circumplex                          the CLI
#   P/lib/libcircumplex.so.0.1.0 (+ .so.0, .so)  the C ABI; SONAME libcircumplex.so.0
#   P/include/circumplex.h, circumplex.hpp    the C header and the C++ wrapper
#   P/lib/cmake/circumplex/                   find_package(circumplex CONFIG) -> circumplex::circumplex
#   P/lib/pkgconfig/circumplex.pc             pkg-config --cflags --libs circumplex
#   P/share/circumplex/models/{default,judge} the shipped packages (the library finds
#                                             models/default from its own location)
#   P/share/circumplex/bindings/{python,csharp}  ctypes module and example, C# P/Invoke + Unity
#   P/share/circumplex/unity/com.circumplex.face  the Unity (UPM) package: package.json, Runtime/,
#                                             Plugins/x86_64/libcircumplex.so, Samples~/
# Everything is relative to P (no absolute paths inside), so a prefix can be moved.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS circumplex RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT cli)
install(TARGETS circumplex_plugin EXPORT circumplexTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT sdk NAMELINK_COMPONENT sdk)
install(FILES ${PROJECT_SOURCE_DIR}/plugin/include/circumplex.h ${PROJECT_SOURCE_DIR}/plugin/bindings/cpp/circumplex.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT sdk)

set(cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/circumplex)
install(EXPORT circumplexTargets NAMESPACE circumplex:: DESTINATION ${cmake_dir} COMPONENT sdk)
add_library(circumplex::circumplex ALIAS circumplex_plugin)  # the same name inside this tree
set_target_properties(circumplex_plugin PROPERTIES EXPORT_NAME circumplex)
set(CIRCUMPLEX_MODELS_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/circumplex/models)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/circumplexConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/circumplexConfig.cmake INSTALL_DESTINATION ${cmake_dir}
                              PATH_VARS CIRCUMPLEX_MODELS_INSTALL_DIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/circumplexConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/circumplexConfig.cmake ${PROJECT_BINARY_DIR}/circumplexConfigVersion.cmake
        DESTINATION ${cmake_dir} COMPONENT sdk)

file(RELATIVE_PATH pc_to_prefix /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)  # "../..": the .pc finds its prefix
configure_file(${PROJECT_SOURCE_DIR}/cmake/circumplex.pc.in ${PROJECT_BINARY_DIR}/circumplex.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/circumplex.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT sdk)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/assets/models/default ${PROJECT_SOURCE_DIR}/assets/models/judge
        DESTINATION ${CIRCUMPLEX_MODELS_INSTALL_DIR} COMPONENT sdk)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/plugin/bindings/python ${PROJECT_SOURCE_DIR}/plugin/bindings/csharp
        DESTINATION ${CMAKE_INSTALL_DATADIR}/circumplex/bindings COMPONENT sdk)

# The .deb (`cpack -G DEB --config build/CPackConfig.cmake`): its Depends come from
# dpkg-shlibdeps, i.e. the Debian packages that provide the libraries the files link.
set(CPACK_PACKAGE_NAME circumplex)
set(CPACK_PACKAGE_VENDOR "circumplex")
set(CPACK_PACKAGE_CONTACT "circumplex maintainers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "A face's emotional expression on a cursor on Russell's circumplex: engine, C ABI, CLI, default model")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_GENERATOR DEB)
include(CPack)

# The Unity package (UPM): share/circumplex/unity/com.circumplex.face (plugin/bindings/unity).
set(upm ${CMAKE_INSTALL_DATADIR}/circumplex/unity/com.circumplex.face)
configure_file(${PROJECT_SOURCE_DIR}/plugin/bindings/unity/package.json.in ${PROJECT_BINARY_DIR}/upm/package.json @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/upm/package.json ${PROJECT_SOURCE_DIR}/plugin/bindings/unity/README.md DESTINATION ${upm} COMPONENT sdk)
install(FILES ${PROJECT_SOURCE_DIR}/plugin/bindings/csharp/Circumplex.cs ${PROJECT_SOURCE_DIR}/plugin/bindings/csharp/Unity/CircumplexFace.cs
              ${PROJECT_SOURCE_DIR}/plugin/bindings/unity/Circumplex.Runtime.asmdef
        DESTINATION ${upm}/Runtime COMPONENT sdk)
install(FILES $<TARGET_FILE:circumplex_plugin> DESTINATION ${upm}/Plugins/x86_64 RENAME libcircumplex.so COMPONENT sdk)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/plugin/bindings/unity/Samples~" DESTINATION ${upm} COMPONENT sdk)
