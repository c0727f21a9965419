"""schema.py: reads Kafka's JSON message schemas into a small model.

What it does: strips `//` comments (outside string literals), parses the JSON,
and builds Message / Struct / Field objects with parsed version ranges.
What it owns: nothing beyond the model it returns.
What it must never do: guess. An unknown type or a malformed version spec is
an error, so a new schema feature fails the generator loudly.
"""

import copy
import json
import os
import re

VERSION_OPEN = 0x7FFF  # "N+" means up to the largest int16 version

PRIMITIVES = {
    "bool", "int8", "int16", "uint16", "int32", "uint32", "int64",
    "float64", "string", "uuid", "bytes", "records",
}

C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do",
    "double", "else", "enum", "extern", "float", "for", "goto", "if",
    "inline", "int", "long", "register", "restrict", "return", "short",
    "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
    "unsigned", "void", "volatile", "while", "bool", "true", "false",
}


class SchemaError(Exception):
    pass


def strip_comments(text):
    """Removes // comments that are not inside a string literal."""
    out = []
    for line in text.split("\n"):
        in_str = False
        esc = False
        cut = len(line)
        for i, ch in enumerate(line):
            if in_str:
                if esc:
                    esc = False
                elif ch == "\\":
                    esc = True
                elif ch == '"':
                    in_str = False
            elif ch == '"':
                in_str = True
            elif ch == "/" and line.startswith("//", i):
                cut = i
                break
        out.append(line[:cut])
    return "\n".join(out)


class Versions:
    """An inclusive version range; empty when lo > hi."""

    def __init__(self, lo, hi):
        self.lo = lo
        self.hi = hi

    @staticmethod
    def parse(spec):
        spec = str(spec).strip()
        if spec == "none":
            return Versions(1, 0)
        m = re.fullmatch(r"(\d+)\+", spec)
        if m:
            return Versions(int(m.group(1)), VERSION_OPEN)
        m = re.fullmatch(r"(\d+)-(\d+)", spec)
        if m:
            return Versions(int(m.group(1)), int(m.group(2)))
        m = re.fullmatch(r"(\d+)", spec)
        if m:
            return Versions(int(m.group(1)), int(m.group(1)))
        raise SchemaError("bad version spec %r" % spec)

    def empty(self):
        return self.lo > self.hi

    def intersect(self, other):
        return Versions(max(self.lo, other.lo), min(self.hi, other.hi))

    def contains(self, v):
        return self.lo <= v <= self.hi


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


class Field:
    def __init__(self, msg, raw):
        self.raw = raw
        self.name = raw["name"]
        self.snake = snake(self.name)
        if self.snake in C_KEYWORDS:
            self.snake += "_"
        self.type = raw["type"]
        self.about = raw.get("about", "")
        self.versions = Versions.parse(raw["versions"])
        self.nullable = Versions.parse(raw.get("nullableVersions", "none"))
        self.tagged = Versions.parse(raw.get("taggedVersions", "none"))
        self.tag = raw.get("tag")
        if self.tag is not None:
            self.tag = int(str(self.tag), 0)
        if (self.tag is None) != self.tagged.empty():
            raise SchemaError("%s.%s: tag and taggedVersions go together" % (msg, self.name))
        self.flexible = None
        if "flexibleVersions" in raw:
            self.flexible = Versions.parse(raw["flexibleVersions"])
        self.default = raw.get("default")
        self.is_array = self.type.startswith("[]")
        self.elem = self.type[2:] if self.is_array else self.type
        self.elem_is_struct = self.elem not in PRIMITIVES
        self.struct = None  # Struct, resolved later, when elem_is_struct
        if not self.elem_is_struct and self.elem not in PRIMITIVES:
            raise SchemaError("%s.%s: unknown type %s" % (msg, self.name, self.type))

    def is_nullable_struct(self):
        return self.elem_is_struct and not self.is_array and not self.nullable.empty()


class Struct:
    def __init__(self, msg, name, raw_fields, top=False):
        self.msg = msg
        self.name = name
        self.top = top
        self.fields = [Field(msg.name, f) for f in raw_fields]
        if top:
            self.c = "rn_%s" % msg.snake
        else:
            self.c = "rn_%s_%s" % (msg.snake, snake(name))


class Message:
    def __init__(self, path, raw):
        self.path = path
        self.raw = raw
        self.name = raw["name"]
        self.snake = snake(self.name)
        self.kind = raw["type"]
        self.api_key = raw.get("apiKey")
        self.valid = Versions.parse(raw["validVersions"])
        self.flexible = Versions.parse(raw["flexibleVersions"])
        self.unstable = bool(raw.get("latestVersionUnstable", False))
        self.listeners = list(raw.get("listeners", []))
        self.structs = {}  # name -> Struct, nested and common
        self.order = []    # structs in definition order
        commons = [Struct(self, cs["name"], cs["fields"]) for cs in raw.get("commonStructs", [])]
        for st in commons:
            self._add(st)
        for st in commons:
            self._collect(st)
        self.top = Struct(self, self.name, raw["fields"], top=True)
        self._collect(self.top)
        self._resolve()

    def _add(self, st):
        if st.name in self.structs:
            raise SchemaError("%s: struct %s defined twice" % (self.name, st.name))
        self.structs[st.name] = st
        self.order.append(st)

    def _collect(self, st):
        for f in st.fields:
            if "fields" in f.raw:
                if not f.elem_is_struct:
                    raise SchemaError("%s.%s: fields on a primitive" % (self.name, f.name))
                sub = Struct(self, f.elem, f.raw["fields"])
                self._add(sub)
                self._collect(sub)

    def _resolve(self):
        for st in [self.top] + self.order:
            for f in st.fields:
                if f.elem_is_struct:
                    if f.elem not in self.structs:
                        raise SchemaError("%s.%s: unknown struct %s" % (self.name, f.name, f.elem))
                    f.struct = self.structs[f.elem]

    def all_structs(self):
        return self.order + [self.top]


def load_file(path):
    with open(path, encoding="utf-8") as fh:
        return Message(path, json.loads(strip_comments(fh.read())))


def read_raw(path):
    with open(path, encoding="utf-8") as fh:
        return json.loads(strip_comments(fh.read()))


def _merge_fields(old_fields, new_fields):
    """Inserts into new_fields (in place) every field of old_fields it lacks
    (by name), after the field that precedes it in old_fields; recurses into
    the struct fields both have."""
    by_name = {f["name"]: f for f in new_fields}
    prev = None
    for of in old_fields:
        nf = by_name.get(of["name"])
        if nf is not None:
            if "fields" in of and "fields" in nf:
                _merge_fields(of["fields"], nf["fields"])
        else:
            at = 0 if prev is None else new_fields.index(by_name[prev]) + 1
            nf = copy.deepcopy(of)
            new_fields.insert(at, nf)
            by_name[of["name"]] = nf
        prev = of["name"]


def merge_raw(old, new):
    """A newer schema reaching down to an older one's lowest version: the
    newer one's fields and versions, plus the older versions and the fields
    only they had (a newer Kafka that dropped old versions dropped those)."""
    lo = Versions.parse(old["validVersions"]).lo
    hi = Versions.parse(new["validVersions"]).hi
    if lo > Versions.parse(new["validVersions"]).lo:
        raise SchemaError("%s: the older schema starts later" % new["name"])
    if old["flexibleVersions"] != new["flexibleVersions"]:
        raise SchemaError("%s: flexible versions differ" % new["name"])
    out = copy.deepcopy(new)
    out["validVersions"] = "%d-%d" % (lo, hi)
    _merge_fields(old["fields"], out["fields"])
    return out


def load_dir(schema_dir, replace=None, merge=None):
    """Every schema of schema_dir; a file named in `replace` ({file name:
    path}) is read from that path instead, and one named in `merge` ({file
    name: path}) from merge_raw(its own, that path's)."""
    msgs = []
    replace = replace or {}
    merge = merge or {}
    for fn in sorted(os.listdir(schema_dir)):
        if not fn.endswith(".json"):
            continue
        path = os.path.join(schema_dir, fn)
        if fn in merge:
            msgs.append(Message(merge[fn], merge_raw(read_raw(path), read_raw(merge[fn]))))
        else:
            msgs.append(load_file(replace.get(fn, path)))
    names = {}
    for m in msgs:
        for st in m.all_structs():
            if st.c in names:
                raise SchemaError("type name %s from %s and %s" % (st.c, m.name, names[st.c]))
            names[st.c] = m.name
    return msgs
