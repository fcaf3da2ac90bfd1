#!/usr/bin/env python3
"""The invariants of ARCHITECTURE.md, checked on the source tree.

    tests/check_architecture.py [ROOT]     check the tree at ROOT (default: this repository)
    tests/check_architecture.py --self-test  show that every rule fires on a deliberate slip

Each finding is printed as `path:line: rule: what and the fix`; the exit status is 1 when there
is any. tests/run-all.sh runs both modes before it builds anything, so a slip fails CI in
seconds instead of surviving review.

The rules, and why they exist:
  rdp-pure     rdp/ includes only the standard library and rdp/; OpenSSL only in rdp/crypto.cpp;
               none of the standard headers for I/O, clocks, threads or randomness. The core must
               build and fuzz without the world, and legacy crypto stays in one file.
  rdp-throw    nothing in rdp/ throws: every failure, OpenSSL's included, is an Error value.
  toml         toml++ only in config/load*.cpp (and their internal header config/load_toml.hpp):
               the rest of the program sees validated structs.
  asio         Boost.Asio only through proxy/asio.hpp (it fixes an include-order bug of Boost
               1.74 with g++ 12, and keeps the Asio cost visible).
  layers       proxy -> rdp, tls, config; tls -> rdp, config; config -> nothing; rdp -> nothing.
  proxy-bytes  proxy/ reads no protocol bytes itself: no rdp::Reader, BER/PER readers, little-
               endian loads or indexed byte tests against hex constants. It calls rdp/ instead.
               A line that reads bytes which are not protocol data (a socket path, say) says so
               with `// arch: not protocol data` and why.
  code-map     every header (or header-less .cpp) under rdp/, tls/, config/ and proxy/ is named in
               ARCHITECTURE.md, and every file ARCHITECTURE.md names exists.
"""
import os
import re
import sys
import tempfile

LAYERS = {
    "rdp": {"rdp"},
    "config": {"config"},
    "tls": {"tls", "rdp", "config"},
    "proxy": {"proxy", "rdp", "tls", "config"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
# Byte-level reading of protocol data, which belongs in rdp/.
PROXY_BYTES = [
    (re.compile(r"\brdp::Reader\b|\bReader\s+\w+\s*[({]"), "a byte Reader"),
    (re.compile(r"\bload_u(16|32)(le|be)\b"), "a little/big-endian load"),
    (re.compile(r"\b(ber|per)::read\w*\b"), "a BER/PER reader"),
    (re.compile(r"\[\s*\d+\s*\]\s*(==|!=|&|>=|<=|>|<)\s*0[xX][0-9A-Fa-f]+"),
     "an indexed byte test against a constant"),
    (re.compile(r"0[xX][0-9A-Fa-f]+\s*(==|!=)\s*\w+\s*\[\s*\d+\s*\]"),
     "an indexed byte test against a constant"),
    (re.compile(r"\[\s*\d+\s*\]\s*(==|!=|&)\s*rdp::\w+"), "an indexed byte test against a constant"),
]
EXEMPT = "// arch: not protocol data"
# Standard headers that would give rdp/ I/O, a clock, threads or randomness of its own.
RDP_FORBIDDEN_STD = {"chrono", "ctime", "thread", "mutex", "shared_mutex", "condition_variable",
                     "future", "random", "fstream", "iostream", "filesystem"}
# toml++ (directly, or through the readers' internal header) only in the TOML readers.
TOML_FILES = re.compile(r"config/load\w*\.(cpp|hpp)")
SOURCE_DIRS = ("rdp", "tls", "config", "proxy")
MAP_NAME = re.compile(r"`([\w./-]+\.(?:hpp|cpp)(?:/\.cpp)?)`")
MAP_DIR = re.compile(r"`(\w+/)`")


def is_standard_header(name):
    # <vector>, <cstdint>: no directory, no extension.
    return "/" not in name and "." not in name


def sources(root):
    for top in SOURCE_DIRS:
        for dirpath, _dirs, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if f.endswith((".cpp", ".hpp")):
                    full = os.path.join(dirpath, f)
                    yield os.path.relpath(full, root).replace(os.sep, "/")


def check_file(root, rel):
    top = rel.split("/", 1)[0]
    base = os.path.basename(rel)
    found = []
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines, 1):
        m = INCLUDE.match(line)
        if m:
            kind, name = m.groups()
            if kind == '"':
                if name == "config/load_toml.hpp" and not TOML_FILES.fullmatch(rel):
                    found.append((n, "toml", f'"{name}" (toml++ inside) outside config/load*'))
                target = name.split("/", 1)[0] if "/" in name else top
                if target in LAYERS and target not in LAYERS[top]:
                    allowed = ", ".join(sorted(LAYERS[top] - {top})) or "nothing of ours"
                    found.append((n, "layers", f'{top}/ includes "{name}"; {top}/ may depend on '
                                  f"{allowed}: move the code to the lower layer or pass the value in"))
                elif top == "rdp" and target not in LAYERS:
                    found.append((n, "rdp-pure", f'rdp/ includes "{name}", which is not rdp/'))
            else:
                if top == "rdp" and name in RDP_FORBIDDEN_STD:
                    found.append((n, "rdp-pure", f"rdp/ includes <{name}>: no I/O, clocks, threads "
                                  "or randomness in the core; the caller passes them in"))
                if top == "rdp" and not is_standard_header(name):
                    if not (name.startswith("openssl/") and rel == "rdp/crypto.cpp"):
                        why = ("OpenSSL belongs in rdp/crypto.cpp only"
                               if name.startswith("openssl/") else
                               "rdp/ uses the standard library only")
                        found.append((n, "rdp-pure", f"rdp/ includes <{name}>: {why}"))
                if name.startswith("toml++/") and not TOML_FILES.fullmatch(rel):
                    found.append((n, "toml", f"<{name}> outside config/load*: read TOML in "
                                  "config/load*.cpp and hand the rest validated structs"))
                if name.startswith("boost/asio") and rel != "proxy/asio.hpp":
                    found.append((n, "asio", f'<{name}>: include "proxy/asio.hpp" instead'))
        if top == "rdp" and re.search(r"\bthrow\b", line.split("//", 1)[0]):
            found.append((n, "rdp-throw", "rdp/ throws: return an Error naming the field (or the "
                          "failed primitive and its fix) instead"))
        if top == "proxy" and EXEMPT not in line:
            code = line.split("//", 1)[0]
            for pattern, what in PROXY_BYTES:
                if pattern.search(code):
                    found.append((n, "proxy-bytes", f"{what} in proxy/: decode it with an rdp/ "
                                  f"function (add one there, with a test and a fuzz target), or "
                                  f"mark a non-protocol byte with `{EXEMPT} (why)`"))
                    break
    return [(rel, n, rule, text) for n, rule, text in found]


def directory_names(root):
    names = set()
    for dirpath, dirs, _files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith((".", "build"))]
        names.update(dirs)
    return names


def check_code_map(root):
    path = os.path.join(root, "ARCHITECTURE.md")
    if not os.path.exists(path):
        return [("ARCHITECTURE.md", 1, "code-map", "missing")]
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    named = {}  # file names and subdirectories (`probe/`) the map names, and the line
    for n, line in enumerate(lines, 1):
        for m in MAP_NAME.finditer(line):
            name = m.group(1)
            if name.endswith(".hpp/.cpp"):  # `tls_stream.hpp/.cpp`: both halves
                name = name[: -len("/.cpp")]
            named.setdefault(name, n)
        for m in MAP_DIR.finditer(line):
            named.setdefault(m.group(1), n)
    all_sources = list(sources(root))
    basenames = {os.path.basename(s) for s in all_sources}
    found = []
    for rel in all_sources:
        stem = rel.rsplit(".", 1)[0]
        if rel.endswith(".cpp") and stem + ".hpp" in all_sources:
            continue  # one unit: reported once, under its header
        parts = rel.split("/")
        candidates = {stem + ".hpp", stem + ".cpp"}
        candidates |= {os.path.basename(c) for c in candidates}
        # A subdirectory the map describes as a whole (`probe/`) covers its files.
        candidates |= {"/".join(parts[1:i]) + "/" for i in range(2, len(parts))}
        if not candidates & named.keys():
            found.append((rel, 1, "code-map", f"{rel} is not in ARCHITECTURE.md's code map: "
                          "add a line saying what it holds"))
    for name, n in sorted(named.items()):
        if name.endswith("/"):
            if name[:-1] not in directory_names(root):
                found.append(("ARCHITECTURE.md", n, "code-map",
                              f"names `{name}`, which does not exist"))
            continue
        if name in all_sources or os.path.basename(name) in basenames:
            continue
        if os.path.exists(os.path.join(root, name)):
            continue  # a file outside the four layers (tests/, bench/, tools/)
        found.append(("ARCHITECTURE.md", n, "code-map", f"names `{name}`, which does not exist"))
    return found


def check(root):
    findings = []
    for rel in sources(root):
        findings += check_file(root, rel)
    findings += check_code_map(root)
    return findings


def report(findings):
    for rel, n, rule, text in findings:
        print(f"{rel}:{n}: {rule}: {text}")


# --self-test: a small tree that keeps every rule, then one slip per rule on top of it.
CLEAN = {
    "ARCHITECTURE.md": "`bytes.hpp` `crypto.hpp` `load.hpp` `config.hpp` `load_toml.hpp` `context.hpp` `asio.hpp` "
                       "`session.hpp` `sd_notify.hpp`\n",
    "rdp/bytes.hpp": "#include <cstdint>\n#include <vector>\n",
    "rdp/crypto.hpp": '#include "rdp/bytes.hpp"\n',
    "rdp/crypto.cpp": '#include "rdp/crypto.hpp"\n#include <openssl/evp.h>\n',
    "config/load.hpp": "#include <string>\n",
    "config/config.hpp": "",
    "config/load_toml.hpp": "#include <toml++/toml.hpp>\n",
    "config/load.cpp": '#include "config/load.hpp"\n#include <toml++/toml.hpp>\n',
    "tls/context.hpp": '#include "config/load.hpp"\n#include "rdp/bytes.hpp"\n',
    "proxy/asio.hpp": "#include <boost/asio.hpp>\n",
    "proxy/session.hpp": '#include "proxy/asio.hpp"\n#include "tls/context.hpp"\n',
    "proxy/session.cpp": '#include "proxy/session.hpp"\nbool f(const char* b) {\n'
                         "    return b[0] == 'x';\n}\n",
    "proxy/sd_notify.hpp": "void g(char* a) {\n"
                           f"    if (a[0] == 0x40) a[0] = 0;  {EXEMPT}: an abstract socket\n}}\n",
}
SLIPS = [
    # (file, text appended, rule expected, line expected)
    ("rdp/bytes.hpp", '#include "proxy/asio.hpp"\n', "layers", 3),
    ("rdp/bytes.hpp", "#include <boost/endian.hpp>\n", "rdp-pure", 3),
    ("rdp/bytes.hpp", "#include <chrono>\n", "rdp-pure", 3),
    ("rdp/crypto.hpp", "#include <openssl/rc4.h>\n", "rdp-pure", 2),
    ("rdp/crypto.cpp", 'void f() { throw std::runtime_error("no RC4"); }\n', "rdp-throw", 3),
    ("tls/context.hpp", "#include <toml++/toml.hpp>\n", "toml", 3),
    ("config/config.hpp", '#include "config/load_toml.hpp"\n', "toml", 1),
    ("proxy/session.cpp", "#include <boost/asio/ip/tcp.hpp>\n", "asio", 5),
    ("tls/context.hpp", '#include "proxy/session.hpp"\n', "layers", 3),
    ("config/load.hpp", '#include "tls/context.hpp"\n', "layers", 2),
    ("proxy/session.cpp", "int v(rdp::ByteView b) { rdp::Reader r(b); return 0; }\n",
     "proxy-bytes", 5),
    ("proxy/session.cpp", "bool t(const unsigned char* b) { return (b[7] & 0xFC) == 0x20; }\n",
     "proxy-bytes", 5),
    ("proxy/session.cpp", "auto v = rdp::load_u32le(p);\n", "proxy-bytes", 5),
    ("proxy/session.cpp", "bool t(rdp::Bytes b) { return b[0] != rdp::kTpktVersion; }\n",
     "proxy-bytes", 5),
    ("proxy/watchdog.hpp", "// nobody maps me\n", "code-map", 1),
    ("ARCHITECTURE.md", "- `gone.hpp` — removed long ago\n", "code-map", 2),
]


def write_tree(root, files):
    for rel, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, rel)) or root, exist_ok=True)
        with open(os.path.join(root, rel), "w", encoding="utf-8") as f:
            f.write(text)


def self_test():
    failures = []
    with tempfile.TemporaryDirectory() as clean:
        write_tree(clean, CLEAN)
        got = check(clean)
        if got:
            failures.append(f"the clean tree has findings: {got}")
    for rel, text, rule, line in SLIPS:
        with tempfile.TemporaryDirectory() as root:
            files = dict(CLEAN)
            files[rel] = files.get(rel, "") + text
            write_tree(root, files)
            got = check(root)
            want = [g for g in got if g[0] == rel and g[1] == line and g[2] == rule]
            if not want or len(got) != 1:
                failures.append(f"{rel} + {text.strip()!r}: expected one `{rule}` finding at "
                                f"line {line}, got {got}")
    for f in failures:
        print("self-test:", f)
    print(f"check_architecture self-test: {len(SLIPS) - len(failures)} of {len(SLIPS)} slips "
          f"caught{', clean tree passes' if not failures else ''}")
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    findings = check(root)
    report(findings)
    if findings:
        print(f"check_architecture: {len(findings)} finding(s); the rules are in "
              "tests/check_architecture.py and ARCHITECTURE.md")
        return 1
    print("check_architecture: the tree keeps ARCHITECTURE.md's invariants")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
