# `cpack -G DEB` in a build directory: rdpbridge_<version>_<arch>.deb, for
# `apt install ./rdpbridge_*.deb`. It holds what `cmake --install build --prefix /usr` puts down
# (binary, example config, systemd unit, docs with help.txt); tests/package_deb.sh checks it.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rdpbridge)
# Override with -DCPACK_PACKAGE_CONTACT="Name <mail>" for a package built for distribution.
if(NOT DEFINED CPACK_PACKAGE_CONTACT)
  set(CPACK_PACKAGE_CONTACT
      "rdpbridge maintainers <maintainers@users.noreply.b-seed-c7e000b2.example>")
endif()
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "RDP gateway for legacy Windows hosts")
# Lines as the package manager shows them (Debian's extended description, under 80 columns).
set(CPACK_PACKAGE_DESCRIPTION "\
Modern, hardened RDP clients (TLS 1.2/1.3, NLA) connect to rdpbridge; it
reaches hosts that only speak TLS 1.0/1.1 or Standard RDP Security (Windows XP,
Server 2003, Windows 7, Server 2008 R2), with legacy settings confined to each
host, checks the host's identity (trust on first use), and logs one line with
the cause and the fix for every handshake that fails.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
# Stripped, as Debian ships binaries.
set(CPACK_STRIP_FILES ON)

# The unit, the README and `rdpbridge hosts -c` name /usr/bin/rdpbridge and
# /etc/rdpbridge/rdpbridge.toml. deploy/CMakeLists.txt derives the config directory and the
# unit's paths from CMAKE_INSTALL_PREFIX at install time: with DESTDIR staging CPack installs
# with CPACK_INSTALL_PREFIX itself (not a staging path), so /usr gives exactly those paths
# whatever CMAKE_INSTALL_PREFIX the build directory has.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)

# dpkg-shlibdeps (dpkg-dev) derives the libraries' packages from the binary: libssl3 (which also
# ships ossl-modules/legacy.so, loaded for RC4/MD5 at run time), libgssapi-krb5-2, zlib, ...
# gss-ntlmssp is never linked: MIT GSSAPI loads it through /etc/gss/mech.d for NLA's NTLM.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "gss-ntlmssp")

# The example config is a conffile: an upgrade keeps the operator's edits (dpkg asks when both
# changed). The maintainer scripts only tell systemd about the unit and clean up on purge.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
    ${CMAKE_CURRENT_LIST_DIR}/debian/prerm ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# cpack first builds the preinstall target, which otherwise builds everything (benchmarks, tools,
# tests: minutes more) for a package that holds one binary. Build it before packaging, as the
# README says; `cmake --install` never builds anyway.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

include(CPack)
