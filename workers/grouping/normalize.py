"""Function-name normalization: one stable name per function, whatever compiler, release or device.

A grouping key must survive a recompile. Everything a new build, a new compiler or a new OS may
change without the bug changing is removed here: parameter lists, return types, template and
generic arguments, lambda / closure / anonymous-class numbers, Swift specialization and thunk
wrappers, bundler content hashes. Line numbers and addresses never reach a name in the first place.
"""

from __future__ import annotations

import functools
import re

# Names a client or symbolicator puts where it has no symbol; such frames are named module+offset.
_PLACEHOLDER_RE = re.compile(r"(?:|\?+|<redacted>|<unknown>|unknown|0x[0-9a-fA-F]+|<0x[0-9a-fA-F]+>)")

# The token after a C++ ``operator`` keyword, copied verbatim so ``operator<`` survives bracket removal.
_OPERATOR_TOKEN_RE = re.compile(
    r"\s*(?:\(\)|\[\]|<=>|<<=|>>=|<<|>>|<=|>=|->\*|->|<|>|(?:new|delete)(?:\[\])?|[^\s(<\[]+)"
)
_ANON_NAMESPACE = "(anonymous namespace)"
_BRACKET_TOKEN_RE = re.compile(r"->|(?<![\w])operator(?![\w])|\(anonymous namespace\)|[{(<\[)>\]]")
_BRACKET_TOKEN_NO_SQUARE_RE = re.compile(r"->|(?<![\w])operator(?![\w])|\(anonymous namespace\)|[{(<)>]")
_CLONE_SUFFIX_RE = re.compile(r"\s*\[clone [^\]]*\]")
_GCC_SUFFIX_RE = re.compile(r"(?:\.(?:cold|part|isra|constprop|llvm|lto_priv)(?:\.\d+)*)+$")
_RUST_HASH_RE = re.compile(r"::h[0-9a-f]{16}$")
_MSVC_LAMBDA_RE = re.compile(r"<lambda_[0-9a-fA-F]+>")
_MSVC_ANON_RE = re.compile(r"`anonymous namespace'")
_CLANG_LAMBDA_RE = re.compile(r"\$_\d+")
_TRAILING_QUALIFIER_RE = re.compile(r"\s+(?:const|volatile|noexcept|&&|&)$")
_OBJC_RE = re.compile(r"^[-+]\[.+\]$")
_OBJC_CATEGORY_RE = re.compile(r"^([-+]\[[^\s(]+)\([^)]*\)")
_OBJC_BLOCK_RE = re.compile(r"^___?\d*(?P<method>[-+]\[.+\])_block_invoke(?:[._]\d+)*$")
_C_BLOCK_RE = re.compile(r"^(?:__)?(?P<function>.+?)_block_invoke(?:[._]\d+)*$")

_SWIFT_HINT_RE = re.compile(
    r" -> |closure #|specialization <|partial apply|@objc |merged |protocol witness|"
    r"\(extension in |resume partial function|\.getter|\.setter|\.modify"
)
_SWIFT_EXTENSION_RE = re.compile(r"\(extension in [^)]*\):")
_SWIFT_PREFIX_RE = re.compile(
    r"^(?:(?:generic |function signature )?specialization\s+of\s+|specialized\s+|"
    r"partial apply (?:forwarder )?for\s+|merged\s+|@objc\s+|@nonobjc\s+|static\s+|dynamic\s+|"
    r"protocol witness for\s+|dispatch thunk of\s+|(?:suspend|await) resume partial function for\s+)"
)
_SWIFT_THUNK_RE = re.compile(r"^(?:reabstraction )?thunk (?:helper )?(?:for|from)\b|^outlined ")
_SWIFT_CONFORMANCE_RE = re.compile(r"\s+in conformance\s.*$")
_SWIFT_CLOSURE_RE = re.compile(
    r"(?:implicit )?closure #\d+\s*(?:(?:async|throws|rethrows)\s*)*(?:->\s*\S*\s*)?in\s+"
)
_SWIFT_RETURN_RE = re.compile(r"\s*(?:(?:async|throws|rethrows)\s*)*->.*$")
_SWIFT_TYPE_SUFFIX_RE = re.compile(r"\s+:(?:\s.*)?$")

_JAVA_CLASS_RULES = (
    (re.compile(r"\$\$Lambda\$\d+(?:/(?:0x)?[0-9a-fA-F]+)?"), "$$Lambda"),
    (re.compile(r"\$\$ExternalSyntheticLambda\d+"), "$$Lambda"),
    (re.compile(r"\$r8\$lambda\$[\w-]+"), "$$Lambda"),
    (re.compile(r"\$\$ExternalSynthetic(\w*?)\d+"), r"$$ExternalSynthetic\1"),
    (re.compile(r"\$lambda[-$]\d+"), "$lambda"),
    (re.compile(r"\$\d+(?=\$|$)"), ""),
)
_JAVA_METHOD_RULES = (
    (re.compile(r"^lambda\$(.+?)\$\d+$"), r"lambda$\1"),
    (re.compile(r"\$lambda[-$]\d+$"), "$lambda"),
    (re.compile(r"^-\$\$Nest\$(?:sm|m|sfget|sfput|fget|fput)"), ""),
    (re.compile(r"^access\$\d+$"), "access$"),
    (re.compile(r"^\$r8\$lambda\$[\w-]+$"), "$r8$lambda"),
)

_JS_PREFIX_RE = re.compile(r"^(?:async\*?\s+|new\s+|bound\s+|Object\.|Module\.)+")
_JS_ALIAS_RE = re.compile(r"\s*\[as [^\]]*\]$")
_JS_ANONYMOUS_RE = re.compile(r"^(?:|\?anon_\d+_?|<anonymous>|anonymous|\?)$")
_FILE_HASH_RE = re.compile(r"[.-][0-9a-f]{8,}(?=\.)")
_DART_CLOSURE_RE = re.compile(r"<anonymous closure>")

# Normalized names are memoised per process: system frames repeat across nearly every report.
NAME_CACHE_SIZE = 65536


def is_placeholder(name: str | None) -> bool:
    """True when ``name`` is no symbol at all (empty, ``<redacted>``, ``???``, a bare address)."""
    return name is None or bool(_PLACEHOLDER_RE.fullmatch(name.strip()))


def strip_brackets(name: str, square: bool = True) -> str:
    """Drop every ``(...)``, ``<...>`` (and ``[...]``) group, keeping operator tokens and lambdas."""
    token_re = _BRACKET_TOKEN_RE if square else _BRACKET_TOKEN_NO_SQUARE_RE
    token = token_re.search(name)
    if token is None:
        return name
    out: list[str] = []
    depth = 0
    pos = 0
    while token is not None:
        start, text = token.start(), token.group()
        if depth == 0:
            out.append(name[pos:start])
        pos = token.end()
        if text == "->":  # Swift / C++ arrow, not a closing bracket
            if depth == 0:
                out.append("->")
        elif text == "operator":
            if depth == 0:  # copy the operator token verbatim so ``operator<`` survives
                match = _OPERATOR_TOKEN_RE.match(name, pos)
                end = match.end() if match else pos
                out.append(name[start:end])
                pos = end
        elif text == _ANON_NAMESPACE:
            if depth == 0:
                out.append(text)
        elif text == "{":
            if depth == 0:  # gcc "{lambda(int)#1}", "{unnamed type#2}": keep the kind, drop the rest
                close = _matching_brace(name, start)
                out.append("{" + re.sub(r"\(.*\)|#\d+", "", name[start + 1 : close]).strip() + "}")
                pos = close + 1
        elif text in "(<[":
            depth += 1
        elif depth:
            depth -= 1
        else:
            out.append(text)  # unbalanced closing bracket: keep it
        token = token_re.search(name, pos)
    if depth == 0:
        out.append(name[pos:])
    return "".join(out)


def _matching_brace(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return len(text) - 1


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def normalize_native(name: str) -> str:
    """Normalize a C, C++, Objective-C, Swift or Rust symbol as a symbolicator demangled it."""
    name = " ".join(name.split())
    if _OBJC_RE.match(name) or "_block_invoke" in name:
        return _normalize_objc(name)
    if _SWIFT_HINT_RE.search(name) and "::" not in name:
        return normalize_swift(name)
    return normalize_cpp(name)


def _normalize_objc(name: str) -> str:
    block = _OBJC_BLOCK_RE.match(name)
    if block:
        return _normalize_objc(block.group("method")) + "_block_invoke"
    c_block = _C_BLOCK_RE.match(name)
    if c_block and not _OBJC_RE.match(name):
        return normalize_cpp(c_block.group("function")) + "_block_invoke"
    return _OBJC_CATEGORY_RE.sub(r"\1", name)


def normalize_cpp(name: str) -> str:
    """``void ns::Foo<int>::bar(int) const [clone .cold]`` becomes ``ns::Foo::bar``."""
    name = _CLONE_SUFFIX_RE.sub("", name)
    name = _GCC_SUFFIX_RE.sub("", name)
    name = _RUST_HASH_RE.sub("", name)
    name = _MSVC_LAMBDA_RE.sub("{lambda}", name)
    name = _MSVC_ANON_RE.sub(_ANON_NAMESPACE, name)
    name = strip_brackets(name)
    name = _CLANG_LAMBDA_RE.sub("$_", name)
    previous = None
    while previous != name:
        previous, name = name, _TRAILING_QUALIFIER_RE.sub("", name.strip())
    return _drop_return_type(name)


def _drop_return_type(name: str) -> str:
    """Keep the last space-separated token, treating ``operator new`` and the anonymous namespace as one."""
    protected = name.replace(_ANON_NAMESPACE, "(anonymous\x00namespace)")
    tokens = protected.split(" ")
    last = len(tokens) - 1
    if last > 0 and (tokens[last - 1].endswith("operator")):
        last -= 1
    return " ".join(tokens[last:]).replace("\x00", " ")


def normalize_swift(name: str) -> str:
    """``closure #2 (Int) -> () in generic specialization <X> of App.Foo.load(id:) -> ()`` → ``closure in App.Foo.load``."""
    name = " ".join(name.split())
    if _SWIFT_THUNK_RE.match(name):
        return "thunk"
    name = _SWIFT_EXTENSION_RE.sub("", name)
    name = " ".join(strip_brackets(name).split())
    name = _strip_swift_prefixes(name)
    name = _SWIFT_RETURN_RE.sub("", name)
    name = _SWIFT_TYPE_SUFFIX_RE.sub("", name)
    return name.strip()


def _strip_swift_prefixes(name: str) -> str:
    previous = None
    while previous != name:
        previous = name
        name = _SWIFT_CONFORMANCE_RE.sub("", name)
        name = _SWIFT_CLOSURE_RE.sub("closure in ", name)
        # Wrappers may sit before the closure ("partial apply for closure in") and after it.
        name = "closure in ".join(_SWIFT_PREFIX_RE.sub("", part) for part in name.split("closure in "))
    return name


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def normalize_java(module: str | None, function: str | None) -> str:
    """``com.a.Foo$$Lambda$12/0x1f.lambda$onCreate$3`` → ``com.a.Foo$$Lambda.lambda$onCreate``."""
    cls = (module or "").strip()
    for pattern, replacement in _JAVA_CLASS_RULES:
        cls = pattern.sub(replacement, cls)
    method = (function or "").strip()
    for pattern, replacement in _JAVA_METHOD_RULES:
        method = pattern.sub(replacement, method)
    method = method or "?"
    return f"{cls}.{method}" if cls else method


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def normalize_javascript(function: str | None, filename: str | None) -> str:
    """``async Object.onPress [as handler]`` in ``/static/main.3f9a2c1b.js`` → ``onPress (main.js)``."""
    name = _JS_ALIAS_RE.sub("", " ".join((function or "").split()))
    name = _JS_PREFIX_RE.sub("", name)
    if _JS_ANONYMOUS_RE.match(name):
        name = "<anonymous>"
    source = source_basename(filename)
    return f"{name} ({source})" if source else name


def source_basename(path: str | None) -> str:
    """The file name of a script URL or path, without query, fragment or bundler content hash."""
    if not path:
        return ""
    path = path.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    base = re.split(r"[/\\]", path)[-1]
    return _FILE_HASH_RE.sub("", base)


@functools.lru_cache(maxsize=NAME_CACHE_SIZE)
def normalize_dart(function: str | None) -> str:
    """``_CartState.build.<anonymous closure>`` keeps its shape; generic arguments go."""
    name = " ".join((function or "").split())
    name = _DART_CLOSURE_RE.sub("{closure}", name)
    if name.startswith("new "):
        name = name[4:]
    return strip_brackets(name, square=False).strip() or "?"


def normalize_type(exception_type: str) -> str:
    """An exception type without generic arguments or whitespace noise."""
    return strip_brackets(" ".join(exception_type.split()), square=False).strip()
