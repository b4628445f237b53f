"""Function-name normalization: what a recompile may change never reaches a signature."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.grouping.normalize import (
    is_placeholder,
    normalize_dart,
    normalize_java,
    normalize_javascript,
    normalize_native,
    normalize_type,
)

NATIVE = [
    # C++: parameters, return types, templates, qualifiers, clones, lambdas, operators
    (
        "std::vector<Item, std::allocator<Item> >::_M_range_check(unsigned long) const",
        "std::vector::_M_range_check",
    ),
    (
        "void engine::Inventory<engine::Item, 4ul>::get<int>(unsigned long) const [clone .cold]",
        "engine::Inventory::get",
    ),
    ("std::unique_ptr<Foo> engine::make<Foo>(int&&)", "engine::make"),
    (
        "engine::Loader::start()::{lambda()#1}::operator()() const",
        "engine::Loader::start::{lambda}::operator()",
    ),
    (
        "engine::Loader::start()::{lambda(int, char const*)#7}::operator()(int, char const*) const",
        "engine::Loader::start::{lambda}::operator()",
    ),
    ("engine::Loader::start()::$_12::operator()() const", "engine::Loader::start::$_::operator()"),
    (
        "`anonymous namespace'::Foo::<lambda_9f2c1a>::operator()",
        "(anonymous namespace)::Foo::{lambda}::operator()",
    ),
    ("(anonymous namespace)::Parser::next(int)", "(anonymous namespace)::Parser::next"),
    (
        "std::basic_ostream<char>& std::operator<<<std::char_traits<char> >(std::basic_ostream<char>&, char const*)",
        "std::operator<<",
    ),
    ("bool operator<(Foo const&, Foo const&)", "operator<"),
    ("Foo::operator new(unsigned long)", "Foo::operator new"),
    ("Foo::operator->() const", "Foo::operator->"),
    ("Foo::operator[](unsigned long) &&", "Foo::operator[]"),
    ("engine::parse[abi:cxx11](std::string const&)", "engine::parse"),
    ("engine::decode.isra.0.cold", "engine::decode"),
    ("core::result::unwrap_failed::h1234567890abcdef", "core::result::unwrap_failed"),
    # Objective-C: categories and block numbering
    ("-[NSObject(NSObject) doesNotRecognizeSelector:]", "-[NSObject doesNotRecognizeSelector:]"),
    ("__34-[MyViewController viewDidLoad]_block_invoke_2", "-[MyViewController viewDidLoad]_block_invoke"),
    ("___48+[Cache shared]_block_invoke.27", "+[Cache shared]_block_invoke"),
    # Swift: parameters, return types, generics, closures, specializations, thunks, wrappers
    ("MyApp.ViewController.load(with: Swift.String) -> ()", "MyApp.ViewController.load"),
    ("MyApp.Loader.fetch(id: Swift.Int) async throws -> [Swift.String : Swift.Int]", "MyApp.Loader.fetch"),
    ("closure #1 (Swift.Int) -> () in MyApp.Foo.bar(x: Swift.Int) -> ()", "closure in MyApp.Foo.bar"),
    ("closure #14 () throws -> Swift.Bool in MyApp.Foo.bar() -> ()", "closure in MyApp.Foo.bar"),
    ("implicit closure #2 () -> Swift.String in MyApp.Foo.bar() -> ()", "closure in MyApp.Foo.bar"),
    (
        "partial apply for closure #2 () -> () in generic specialization <Swift.String> of MyApp.Loader.run<A>(A) -> ()",
        "closure in MyApp.Loader.run",
    ),
    (
        "closure #1 () -> () in closure #2 (Swift.Int) -> () in MyApp.Foo.bar() -> ()",
        "closure in closure in MyApp.Foo.bar",
    ),
    (
        "generic specialization <Swift.Int, Swift.String> of MyApp.Cache.value<A, B>(for: A) -> B?",
        "MyApp.Cache.value",
    ),
    ("function signature specialization <Arg[0] = Dead> of MyApp.Foo.bar(Swift.Int) -> ()", "MyApp.Foo.bar"),
    ("specialized MyApp.Foo.bar<A>(_: A) -> ()", "MyApp.Foo.bar"),
    ("@objc MyApp.ViewController.viewDidLoad() -> ()", "MyApp.ViewController.viewDidLoad"),
    ("merged MyApp.Foo.bar()", "MyApp.Foo.bar"),
    ("static MyApp.Foo.make() -> MyApp.Foo", "MyApp.Foo.make"),
    ("thunk for @escaping @callee_guaranteed () -> ()", "thunk"),
    ("reabstraction thunk helper from @callee_guaranteed (@guaranteed Swift.String) -> () to ...", "thunk"),
    ("protocol witness for MyApp.P.f() -> () in conformance MyApp.S : MyApp.P in MyApp", "MyApp.P.f"),
    ("MyApp.Foo.value.getter : Swift.Int", "MyApp.Foo.value.getter"),
    ("Swift.Array.subscript.getter : (Swift.Int) -> A", "Swift.Array.subscript.getter"),
    ("(extension in MyKit):Swift.Array<A>.chunked(by: Swift.Int) -> [[A]]", "Swift.Array.chunked"),
    ("(1) suspend resume partial function for MyApp.Foo.load() async throws -> ()", "MyApp.Foo.load"),
    # C: untouched
    ("objc_msgSend", "objc_msgSend"),
    ("__memmove_avx_unaligned_erms", "__memmove_avx_unaligned_erms"),
]


@pytest.mark.parametrize(("raw", "expected"), NATIVE)
def test_native_names(raw: str, expected: str) -> None:
    assert normalize_native(raw) == expected


JAVA = [
    (("com.example.MainActivity", "lambda$onCreate$12"), "com.example.MainActivity.lambda$onCreate"),
    (
        ("com.example.MainActivity$$Lambda$7/0x000000080012a440", "onClick"),
        "com.example.MainActivity$$Lambda.onClick",
    ),
    (("com.example.MainActivity$$Lambda$7", "onClick"), "com.example.MainActivity$$Lambda.onClick"),
    (("com.example.MainActivity$$ExternalSyntheticLambda3", "run"), "com.example.MainActivity$$Lambda.run"),
    (
        ("com.example.MainActivity$$ExternalSyntheticOutline0", "m"),
        "com.example.MainActivity$$ExternalSyntheticOutline.m",
    ),
    (("com.example.Repo$load$2", "invokeSuspend"), "com.example.Repo$load.invokeSuspend"),
    (("com.example.Screen$Content$1$1", "invoke"), "com.example.Screen$Content.invoke"),
    (("com.example.Screen$onCreate$lambda$0", "invoke"), "com.example.Screen$onCreate$lambda.invoke"),
    (("com.example.Screen", "onCreate$lambda-3"), "com.example.Screen.onCreate$lambda"),
    (("com.example.Foo$1", "onClick"), "com.example.Foo.onClick"),
    (("com.example.Foo", "-$$Nest$mrefresh"), "com.example.Foo.refresh"),
    (("com.example.Foo", "access$000"), "com.example.Foo.access$"),
    (("com.example.Foo", "<init>"), "com.example.Foo.<init>"),
    (("com.example.Foo$Inner", "run"), "com.example.Foo$Inner.run"),
]


@pytest.mark.parametrize(("raw", "expected"), JAVA)
def test_java_and_kotlin_names(raw: tuple[str, str], expected: str) -> None:
    assert normalize_java(*raw) == expected


JAVASCRIPT = [
    (("async Object.onPress [as handler]", "/static/js/main.3f9a2c1b.js"), "onPress (main.js)"),
    (("?anon_0_", "app:///index.android.bundle"), "<anonymous> (index.android.bundle)"),
    (("new Cart", "https://x.example/chunk-7d1e0a2fbb.js?v=3#top"), "Cart (chunk.js)"),
    (("bound dispatch", None), "dispatch"),
    (("", None), "<anonymous>"),
]


@pytest.mark.parametrize(("raw", "expected"), JAVASCRIPT)
def test_javascript_names(raw: tuple[str, str | None], expected: str) -> None:
    assert normalize_javascript(*raw) == expected


def test_dart_names_and_exception_types() -> None:
    assert normalize_dart("_CartState.build.<anonymous closure>") == "_CartState.build.{closure}"
    assert normalize_dart("new List<int>.from") == "List.from"
    assert normalize_type("_CastError<int>") == "_CastError"
    assert normalize_type(" java.lang.IllegalStateException ") == "java.lang.IllegalStateException"


@pytest.mark.parametrize(
    "name", [None, "", "  ", "?", "???", "<redacted>", "<unknown>", "0x1a2b3c", "<0x10>"]
)
def test_placeholders_are_not_symbols(name: str | None) -> None:
    assert is_placeholder(name)


@pytest.mark.parametrize("name", ["main", "objc_msgSend", "-[A b]", "a"])
def test_real_names_are_symbols(name: str) -> None:
    assert not is_placeholder(name)


@given(st.text(max_size=200))
def test_any_native_name_normalizes_without_error(name: str) -> None:
    assert "\n" not in normalize_native(name.replace("\n", " "))
