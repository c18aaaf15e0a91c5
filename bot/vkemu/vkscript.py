"""A tiny VKScript subset for the `execute` method: enough for request batching.

Supported:
    return API.messages.send({...});
    return [API.messages.send({...}), API.messages.send({...})];
    var a = API.users.get({"user_ids": [1, 2]}); API.x.y({...}); return [a, 1, "s"];
Object keys may be quoted or bare identifiers; values are JSON literals, arrays,
objects, variables or nested API calls. Loops, operators and property access are
not supported (VK would accept them; our bot never needs them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_API_CALLS = 25


class CompileError(Exception):
    """Code that VK would refuse with error 12 (Unable to compile code)."""


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_$][\w$]*)
  | (?P<punct>[{}\[\](),:;.=])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: Any  # the text; for kind "json", the object it reads as
    pos: int


# AST nodes are plain tuples: ("lit", v) ("var", name) ("array", [n]) ("object", [(k, n)])
# ("call", "messages.send", node|None). Statements: ("var", name, n) ("expr", n) ("return", n).
Node = tuple[Any, ...]


@dataclass(slots=True)
class Program:
    statements: list[Node]
    api_calls: int


def _no_constant(name: str) -> Any:
    raise ValueError(name)  # NaN, Infinity: not JSON, left to the tokens


# An object literal that is plain JSON (what the bot sends: 25 calls of 7 keys each) is read by
# the C JSON reader as one token instead of ~40 regex tokens: 3.7 -> 0.5 ms a request, so the
# emulator is not what a broadcast waits on. Anything else falls back to the tokens.
_JSON = json.JSONDecoder(parse_constant=_no_constant)


def _tokenize(code: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(code):
        if code[pos] == "{":
            try:
                value, end = _JSON.raw_decode(code, pos)
            except ValueError:
                pass
            else:
                tokens.append(Token("json", value, pos))
                pos = end
                continue
        match = _TOKEN_RE.match(code, pos)
        if match is None:
            raise CompileError(f"unexpected character {code[pos]!r} at {pos}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    return tokens


def _decode_string(raw: str) -> str:
    if raw[0] == "'":
        # Re-quote a single-quoted literal as a JSON string.
        body = raw[1:-1].replace("\\'", "'").replace('"', '\\"')
        raw = f'"{body}"'
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise CompileError(f"bad string literal {raw[:30]!r}") from exc


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.calls = 0
        self.variables: set[str] = set()

    def peek(self, value: str | None = None) -> Token | None:
        token = self.tokens[self.i] if self.i < len(self.tokens) else None
        if value is not None and (token is None or token.value != value):
            return None
        return token

    def take(self, value: str | None = None, kind: str | None = None) -> Token:
        token = self.peek()
        if token is None:
            raise CompileError(f"unexpected end of code, expected {value or kind}")
        if (value is not None and token.value != value) or (kind and token.kind != kind):
            raise CompileError(f"unexpected {token.value!r} at {token.pos}")
        self.i += 1
        return token

    def program(self) -> Program:
        statements: list[Node] = []
        while self.peek() is not None:
            if self.peek(";"):
                self.i += 1
                continue
            statements.append(self.statement())
        if not statements:
            raise CompileError("empty code")
        return Program(statements, self.calls)

    def statement(self) -> Node:
        if self.peek("var"):
            self.i += 1
            name = self.take(kind="ident").value
            self.take("=")
            node: Node = ("var", name, self.expression())
            self.variables.add(name)
        elif self.peek("return"):
            self.i += 1
            node = ("return", self.expression())
        else:
            node = ("expr", self.expression())
        if self.peek(";"):
            self.i += 1
        return node

    def expression(self) -> Node:
        token = self.take()
        if token.kind == "json":
            return ("lit", token.value)
        if token.kind == "str":
            return ("lit", _decode_string(token.value))
        if token.kind == "num":
            text = token.value
            return ("lit", int(text) if text.lstrip("-").isdigit() else float(text))
        if token.value == "[":
            return ("array", self._sequence("]", self.expression))
        if token.value == "{":
            return ("object", self._sequence("}", self._pair))
        if token.kind == "ident":
            return self._identifier(token)
        raise CompileError(f"unexpected {token.value!r} at {token.pos}")

    def _identifier(self, token: Token) -> Node:
        literals = {"true": True, "false": False, "null": None}
        if token.value in literals:
            return ("lit", literals[token.value])
        if token.value == "API":
            return self._call()
        if token.value not in self.variables:
            raise CompileError(f"undefined variable {token.value!r}")
        return ("var", token.value)

    def _call(self) -> Node:
        parts = []
        while self.peek("."):
            self.i += 1
            parts.append(self.take(kind="ident").value)
        if len(parts) < 2:
            raise CompileError("API call must look like API.section.method(...)")
        self.take("(")
        args = None if self.peek(")") else self.expression()
        self.take(")")
        self.calls += 1
        return ("call", ".".join(parts), args)

    def _pair(self) -> tuple[str, Node]:
        token = self.take()
        if token.kind == "str":
            key = _decode_string(token.value)
        elif token.kind in ("ident", "num"):
            key = token.value
        else:
            raise CompileError(f"bad object key {token.value!r} at {token.pos}")
        self.take(":")
        return key, self.expression()

    def _sequence(self, closing: str, item: Callable[[], Any]) -> list[Any]:
        items: list[Any] = []
        while not self.peek(closing):
            items.append(item())
            if not self.peek(closing):
                self.take(",")
        self.take(closing)
        return items


def compile_code(code: str) -> Program:
    """Parse VKScript; raises CompileError. Calls are counted statically (no loops)."""
    return _Parser(_tokenize(code)).program()


Caller = Callable[[str, dict[str, str]], Any]


def run(program: Program, call: Caller) -> Any:
    """Evaluate the program; `call(method, params)` performs one API call."""
    scope: dict[str, Any] = {}
    for statement in program.statements:
        if statement[0] == "var":
            scope[statement[1]] = _evaluate(statement[2], scope, call)
        elif statement[0] == "return":
            return _evaluate(statement[1], scope, call)
        else:
            _evaluate(statement[1], scope, call)
    return None


def _evaluate(node: Node, scope: dict[str, Any], call: Caller) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "var":
        return scope[node[1]]
    if kind == "array":
        return [_evaluate(item, scope, call) for item in node[1]]
    if kind == "object":
        return {key: _evaluate(value, scope, call) for key, value in node[1]}
    args = _evaluate(node[2], scope, call) if node[2] is not None else {}
    if not isinstance(args, dict):
        args = {}
    return call(node[1], to_params(args))


def to_params(args: dict[str, Any]) -> dict[str, str]:
    """Flatten VKScript values to API params the way an HTTP request would carry them."""
    params: dict[str, str] = {}
    for key, value in args.items():
        if value is None:
            continue
        if isinstance(value, bool):
            params[key] = "1" if value else "0"
        elif isinstance(value, list):
            params[key] = ",".join(_scalar(v) for v in value)
        elif isinstance(value, dict):
            params[key] = json.dumps(value, ensure_ascii=False)
        else:
            params[key] = _scalar(value)
    return params


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


__all__ = ["MAX_API_CALLS", "CompileError", "Program", "compile_code", "run", "to_params"]
