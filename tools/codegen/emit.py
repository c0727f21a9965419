"""emit.py: writes the C structs and codec functions of one message schema.

What it does: for a schema.Message, produces a header (types, init, decode,
encode, size) and a source file implementing them on top of proto/wire.h.
What it owns: only the text it returns.
What it must never do: depend on dict or file-system order (output must be
byte-for-byte stable), or emit code that trusts a wire length.
"""

import json

from schema import Versions, SchemaError

FIXED_C = {
    "bool": "bool", "int8": "int8_t", "int16": "int16_t", "uint16": "uint16_t",
    "int32": "int32_t", "uint32": "uint32_t", "int64": "int64_t",
    "float64": "double", "uuid": "rn_uuid_t",
}
VAR_C = {"string": "rn_str_t", "bytes": "rn_bytes_t", "records": "rn_records_t"}
FIXED_SIZE = {
    "bool": 1, "int8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
    "int64": 8, "float64": 8, "uuid": 16,
}
PRIM_ARRAY_C = {
    "int8": "rn_int8_array_t", "int16": "rn_int16_array_t", "int32": "rn_int32_array_t",
    "int64": "rn_int64_array_t", "uuid": "rn_uuid_array_t", "string": "rn_str_array_t",
}


def c_comment(text):
    return " ".join(text.replace("*/", "* /").split())


def cond_expr(msg, vr, within=None):
    """None if never within the message's versions (narrowed to `within`),
    "" if always, else a C condition on `version`."""
    scope = msg.valid if within is None else msg.valid.intersect(within)
    v = vr.intersect(scope)
    if v.empty():
        return None
    parts = []
    if v.lo > scope.lo:
        parts.append("version >= %d" % v.lo)
    if v.hi < scope.hi:
        parts.append("version <= %d" % v.hi)
    return " && ".join(parts)


def bool_expr(msg, vr, within=None):
    c = cond_expr(msg, vr, within)
    if c is None:
        return "false"
    if c == "":
        return "true"
    return "(%s)" % c


def fixed_versions(f):
    """Versions in which f sits in the fixed layout (not tagged)."""
    if f.tagged.empty():
        return f.versions
    if f.tagged.lo <= f.versions.lo and f.tagged.hi >= f.versions.hi:
        return Versions(1, 0)
    if f.tagged.hi >= f.versions.hi:
        return Versions(f.versions.lo, f.tagged.lo - 1)
    raise SchemaError("field %s: tagged versions must end the field's range" % f.name)


def tagged_versions(f):
    return f.tagged.intersect(f.versions)


class Emitter:
    def __init__(self, msg, banner):
        self.msg = msg
        self.banner = banner
        self.reachable = self._reachable()
        self.need_default = self._need_default()

    # ---- analysis ----

    def _reachable(self):
        seen = []
        stack = [self.msg.top]
        while stack:
            st = stack.pop()
            if st in seen:
                continue
            seen.append(st)
            for f in st.fields:
                if f.struct is not None:
                    stack.append(f.struct)
        return seen

    def _need_default(self):
        need = []
        stack = []
        for st in self.reachable:
            for f in st.fields:
                if f.tag is not None and f.struct is not None and not f.is_array:
                    stack.append(f.struct)
        while stack:
            st = stack.pop()
            if st in need:
                continue
            need.append(st)
            for f in st.fields:
                if f.struct is not None and not f.is_array and not f.is_nullable_struct():
                    stack.append(f.struct)
        return need

    # ---- names and types ----

    def flex(self, f):
        vr = f.flexible if f.flexible is not None else self.msg.flexible
        return bool_expr(self.msg, vr, f.versions)

    def field_c_type(self, f):
        if f.is_array:
            if f.struct is not None:
                return "%s_array_t" % f.struct.c
            if f.elem not in PRIM_ARRAY_C:
                raise SchemaError("%s: unsupported array type %s" % (f.name, f.type))
            return PRIM_ARRAY_C[f.elem]
        if f.struct is not None:
            return "%s_t" % f.struct.c + (" *" if f.is_nullable_struct() else "")
        if f.elem in FIXED_C:
            return FIXED_C[f.elem]
        return VAR_C[f.elem]

    def null_check(self, f, is_null, fail):
        """Code failing when a null value appears where f is not nullable."""
        c = cond_expr(self.msg, f.nullable, f.versions)
        if c == "":
            return []
        if c is None:
            return ["if (%s) %s;" % (is_null, fail)]
        return ["if (%s && !(%s)) %s;" % (is_null, c, fail)]

    # ---- defaults ----

    def default_is_null(self, f):
        d = f.default
        if d is not None and str(d) == "null":
            return True
        if f.elem == "records" and not f.is_array and not f.nullable.empty():
            return True
        return False

    def scalar_default(self, f):
        t = f.elem
        d = f.default
        if t == "bool":
            return "true" if d is not None and str(d).lower() == "true" else "false"
        if t == "float64":
            return repr(float(d)) if d is not None else "0.0"
        n = int(str(d), 0) if d is not None and str(d) != "" else 0
        if t == "int64":
            return "INT64_C(%d)" % n
        if t == "int32" and n == -2147483648:
            return "INT32_MIN"
        if t in ("uint32",):
            return "%du" % n
        return "%d" % n

    def init_lines(self, f):
        lhs = "v->%s" % f.snake
        if f.is_array:
            return ["%s.items = NULL;" % lhs,
                    "%s.count = %d;" % (lhs, -1 if self.default_is_null(f) else 0)]
        if f.is_nullable_struct():
            if not self.default_is_null(f):
                raise SchemaError("%s: nullable struct needs a null default" % f.name)
            return ["%s = NULL;" % lhs]
        if f.struct is not None:
            return ["%s_init(&%s);" % (f.struct.c, lhs)]
        t = f.elem
        if t == "uuid":
            return ["%s = rn_uuid_zero;" % lhs]
        if t == "string":
            if self.default_is_null(f):
                return ["%s = rn_str_null();" % lhs]
            d = "" if f.default is None else str(f.default)
            return ["%s = (rn_str_t){%s, %d};" % (lhs, json.dumps(d), len(d.encode()))]
        if t == "bytes":
            return ["%s = (rn_bytes_t){NULL, %d};" % (lhs, -1 if self.default_is_null(f) else 0)]
        if t == "records":
            return ["%s = (rn_records_t){NULL, %d, NULL, 0};"
                    % (lhs, -1 if self.default_is_null(f) else 0)]
        return ["%s = %s;" % (lhs, self.scalar_default(f))]

    def is_default_expr(self, f):
        lhs = "v->%s" % f.snake
        if f.is_array:
            return "%s.count == %d" % (lhs, -1 if self.default_is_null(f) else 0)
        if f.is_nullable_struct():
            return "%s == NULL" % lhs
        if f.struct is not None:
            return "%s_is_default(&%s)" % (f.struct.c, lhs)
        t = f.elem
        if t == "uuid":
            return "rn_uuid_eq(&%s, &rn_uuid_zero)" % lhs
        if t == "string":
            if self.default_is_null(f):
                return "%s.len < 0" % lhs
            d = "" if f.default is None else str(f.default)
            if d == "":
                return "%s.len == 0" % lhs
            return "rn_str_eq_cstr(%s, %s)" % (lhs, json.dumps(d))
        if t in ("bytes", "records"):
            return "%s.len %s" % (lhs, "< 0" if self.default_is_null(f) else "== 0")
        return "%s == %s" % (lhs, self.scalar_default(f))

    # ---- read ----

    def read_elem(self, f, rd, lhs):
        t = f.elem
        if f.struct is not None:
            return ["%s_init(&%s);" % (f.struct.c, lhs),
                    "%s_read(%s, arena, version, &%s);" % (f.struct.c, rd, lhs)]
        if t in VAR_C:
            return ["%s = rn_read_%s(%s, %s);" % (lhs, t, rd, self.flex(f)),
                    "if (%s.len < 0) rn_reader_fail(%s, RN_ERR_CORRUPT);" % (lhs, rd)]
        return ["%s = rn_read_%s(%s);" % (lhs, t, rd)]

    def read_field(self, f, rd):
        lhs = "v->%s" % f.snake
        fail = "rn_reader_fail(%s, RN_ERR_CORRUPT)" % rd
        if f.is_array:
            out = ["{",
                   "    int32_t count = rn_read_array_count(%s, %s);" % (rd, self.flex(f))]
            out += ["    " + x for x in self.null_check(f, "count < 0", fail)]
            out += ["    %s.count = count;" % lhs,
                    "    %s.items = NULL;" % lhs,
                    "    if (count > 0 && %s->err == RN_OK) {" % rd,
                    "        %s.items = rn_arena_alloc(arena, (size_t)count * sizeof(*%s.items));"
                    % (lhs, lhs),
                    "        if (%s.items == NULL) {" % lhs,
                    "            %s.count = 0;" % lhs,
                    "            rn_reader_fail(%s, RN_ERR_NO_MEMORY);" % rd,
                    "        }",
                    "        for (int32_t ai = 0; ai < %s.count && %s->err == RN_OK; ai++) {"
                    % (lhs, rd)]
            out += ["            " + x for x in self.read_elem(f, rd, "%s.items[ai]" % lhs)]
            out += ["        }", "    }", "}"]
            return out
        if f.is_nullable_struct():
            nc = bool_expr(self.msg, f.nullable, f.versions)
            return ["{",
                    "    bool present = true;",
                    "    if (%s) present = rn_read_int8(%s) >= 0;" % (nc, rd),
                    "    if (present && %s->err == RN_OK) {" % rd,
                    "        %s = rn_arena_alloc(arena, sizeof(*%s));" % (lhs, lhs),
                    "        if (%s == NULL) {" % lhs,
                    "            rn_reader_fail(%s, RN_ERR_NO_MEMORY);" % rd,
                    "        } else {",
                    "            %s_init(%s);" % (f.struct.c, lhs),
                    "            %s_read(%s, arena, version, %s);" % (f.struct.c, rd, lhs),
                    "        }",
                    "    }",
                    "}"]
        if f.struct is not None:
            return ["%s_read(%s, arena, version, &%s);" % (f.struct.c, rd, lhs)]
        t = f.elem
        if t in VAR_C:
            out = ["%s = rn_read_%s(%s, %s);" % (lhs, t, rd, self.flex(f))]
            return out + self.null_check(f, "%s.len < 0" % lhs, fail)
        return ["%s = rn_read_%s(%s);" % (lhs, t, rd)]

    # ---- write ----

    def write_elem(self, f, lhs):
        t = f.elem
        if f.struct is not None:
            return ["%s_write(w, version, &%s);" % (f.struct.c, lhs)]
        if t == "string":
            return ["if (%s.len < 0) rn_writer_fail(w, RN_ERR_INVALID);" % lhs,
                    "rn_write_string(w, %s, %s);" % (lhs, self.flex(f))]
        if t == "uuid":
            return ["rn_write_uuid(w, &%s);" % lhs]
        return ["rn_write_%s(w, %s);" % (t, lhs)]

    def write_field(self, f):
        lhs = "v->%s" % f.snake
        fail = "rn_writer_fail(w, RN_ERR_INVALID)"
        if f.is_array:
            out = ["RN_ASSERT(%s.count <= 0 || %s.items != NULL);" % (lhs, lhs)]
            out += self.null_check(f, "%s.count < 0" % lhs, fail)
            out += ["rn_write_array_count(w, %s.count, %s);" % (lhs, self.flex(f)),
                    "for (int32_t ai = 0; ai < %s.count; ai++) {" % lhs]
            out += ["    " + x for x in self.write_elem(f, "%s.items[ai]" % lhs)]
            out += ["}"]
            return out
        if f.is_nullable_struct():
            nc = bool_expr(self.msg, f.nullable, f.versions)
            return ["if (%s) {" % nc,
                    "    rn_write_int8(w, %s != NULL ? 1 : -1);" % lhs,
                    "} else if (%s == NULL) {" % lhs,
                    "    %s;" % fail,
                    "}",
                    "if (%s != NULL) %s_write(w, version, %s);" % (lhs, f.struct.c, lhs)]
        if f.struct is not None:
            return ["%s_write(w, version, &%s);" % (f.struct.c, lhs)]
        t = f.elem
        if t in ("string", "bytes"):
            return self.null_check(f, "%s.len < 0" % lhs, fail) + [
                "rn_write_%s(w, %s, %s);" % (t, lhs, self.flex(f))]
        if t == "records":
            return self.null_check(f, "%s.len < 0" % lhs, fail) + [
                "rn_write_records(w, &%s, %s);" % (lhs, self.flex(f))]
        if t == "uuid":
            return ["rn_write_uuid(w, &%s);" % lhs]
        return ["rn_write_%s(w, %s);" % (t, lhs)]

    # ---- size ----

    def size_field(self, f, acc):
        lhs = "v->%s" % f.snake
        t = f.elem
        if f.is_array:
            out = ["%s += rn_array_count_size(%s.count, %s);" % (acc, lhs, self.flex(f))]
            if f.struct is not None:
                out += ["for (int32_t ai = 0; ai < %s.count; ai++) %s += %s_measure(version, &%s.items[ai]);"
                        % (lhs, acc, f.struct.c, lhs)]
            elif t == "string":
                out += ["for (int32_t ai = 0; ai < %s.count; ai++) %s += rn_string_size(%s.items[ai], %s);"
                        % (lhs, acc, lhs, self.flex(f))]
            else:
                out += ["if (%s.count > 0) %s += (size_t)%s.count * %d;"
                        % (lhs, acc, lhs, FIXED_SIZE[t])]
            return out
        if f.is_nullable_struct():
            nc = bool_expr(self.msg, f.nullable, f.versions)
            return ["if (%s) %s += 1;" % (nc, acc),
                    "if (%s != NULL) %s += %s_measure(version, %s);" % (lhs, acc, f.struct.c, lhs)]
        if f.struct is not None:
            return ["%s += %s_measure(version, &%s);" % (acc, f.struct.c, lhs)]
        if t in ("string", "bytes"):
            return ["%s += rn_%s_size(%s, %s);" % (acc, t, lhs, self.flex(f))]
        if t == "records":
            return ["%s += rn_records_size(&%s, %s);" % (acc, lhs, self.flex(f))]
        return ["%s += %d;" % (acc, FIXED_SIZE[t])]

    # ---- per struct functions ----

    @staticmethod
    def guarded(cond, lines, ind="    "):
        if cond is None:
            return []
        if cond == "":
            return [ind + x for x in lines]
        return [ind + "if (%s) {" % cond] + [ind + "    " + x for x in lines] + [ind + "}"]

    def tagged_fields(self, st):
        out = [f for f in st.fields if f.tag is not None]
        out.sort(key=lambda f: f.tag)
        tags = [f.tag for f in out]
        if len(set(tags)) != len(tags):
            raise SchemaError("%s: duplicate tags" % st.name)
        return out

    def fn_read(self, st):
        c = st.c
        out = ["static void %s_read(rn_reader_t *r, rn_arena_t *arena, int16_t version, %s_t *v) {"
               % (c, c),
               "    (void)arena;", "    (void)version;", "    (void)v;",
               "    if (!rn_reader_enter(r)) return;"]
        for f in st.fields:
            out += self.guarded(cond_expr(self.msg, fixed_versions(f)), self.read_field(f, "r"))
        flex = cond_expr(self.msg, self.msg.flexible)
        tagged = self.tagged_fields(st)
        if tagged:
            body = ["uint32_t tag_count = rn_read_tagged_count(r);",
                    "for (uint32_t ti = 0; ti < tag_count && r->err == RN_OK; ti++) {",
                    "    uint32_t tag;",
                    "    rn_reader_t sub;",
                    "    if (!rn_read_tagged_field(r, &tag, &sub)) break;",
                    "    switch (tag) {"]
            for f in tagged:
                body.append("    case %d:" % f.tag)
                body += self.guarded(cond_expr(self.msg, tagged_versions(f)),
                                     self.read_field(f, "(&sub)"), "        ")
                body.append("        break;")
            body += ["    default:", "        break;", "    }",
                     "    rn_reader_join(r, &sub);", "}"]
        else:
            body = ["rn_read_tagged_skip(r);"]
        out += self.guarded(flex, body)
        out += ["    rn_reader_leave(r);", "}", ""]
        return out

    def fn_write(self, st):
        c = st.c
        out = ["static void %s_write(rn_writer_t *w, int16_t version, const %s_t *v) {" % (c, c),
               "    (void)version;", "    (void)v;"]
        for f in st.fields:
            out += self.guarded(cond_expr(self.msg, fixed_versions(f)), self.write_field(f))
        flex = cond_expr(self.msg, self.msg.flexible)
        tagged = self.tagged_fields(st)
        if tagged:
            body = ["uint32_t tag_count = 0;"]
            for f in tagged:
                body += self.guarded(self.tag_cond(f), ["tag_count++;"], "")
            body.append("rn_write_uvarint(w, tag_count);")
            for f in tagged:
                inner = ["size_t tag_bytes = 0;"] + self.size_field(f, "tag_bytes") + [
                    "rn_write_uvarint(w, %d);" % f.tag,
                    "rn_write_uvarint(w, (uint32_t)tag_bytes);"] + self.write_field(f)
                body += self.guarded(self.tag_cond(f), inner, "")
        else:
            body = ["rn_write_uvarint(w, 0);"]
        out += self.guarded(flex, body)
        out += ["}", ""]
        return out

    def tag_cond(self, f):
        c = cond_expr(self.msg, tagged_versions(f))
        if c is None:
            return None
        nd = "!(%s)" % self.is_default_expr(f)
        return nd if c == "" else "%s && %s" % (c, nd)

    def fn_size(self, st):
        c = st.c
        out = ["static size_t %s_measure(int16_t version, const %s_t *v) {" % (c, c),
               "    (void)version;", "    (void)v;", "    size_t n = 0;"]
        for f in st.fields:
            out += self.guarded(cond_expr(self.msg, fixed_versions(f)), self.size_field(f, "n"))
        flex = cond_expr(self.msg, self.msg.flexible)
        tagged = self.tagged_fields(st)
        if tagged:
            body = ["uint32_t tag_count = 0;"]
            for f in tagged:
                inner = ["size_t tag_bytes = 0;"] + self.size_field(f, "tag_bytes") + [
                    "tag_count++;",
                    "n += rn_uvarint_size(%d) + rn_uvarint_size((uint32_t)tag_bytes) + tag_bytes;"
                    % f.tag]
                body += self.guarded(self.tag_cond(f), inner, "")
            body.append("n += rn_uvarint_size(tag_count);")
        else:
            body = ["n += 1;"]
        out += self.guarded(flex, body)
        out += ["    return n;", "}", ""]
        return out

    def fn_is_default(self, st):
        c = st.c
        exprs = [self.is_default_expr(f) for f in st.fields]
        out = ["static bool %s_is_default(const %s_t *v) {" % (c, c), "    (void)v;"]
        if not exprs:
            out.append("    return true;")
        else:
            out.append("    return " + ("\n        && ".join("(%s)" % e for e in exprs)) + ";")
        out += ["}", ""]
        return out

    def fn_init(self, st):
        c = st.c
        out = ["void %s_init(%s_t *v) {" % (c, c),
               "    RN_ASSERT(v != NULL);",
               "    memset(v, 0, sizeof(*v));"]
        for f in st.fields:
            out += ["    " + x for x in self.init_lines(f)]
        out += ["}", ""]
        return out

    # ---- files ----

    def struct_order(self):
        """Structs so that by-value members come before their users."""
        done = []

        def visit(st):
            if st in done:
                return
            for f in st.fields:
                if f.struct is not None and not f.is_array and not f.is_nullable_struct():
                    visit(f.struct)
            done.append(st)

        for st in self.msg.all_structs():
            visit(st)
        return done

    def header(self, fname):
        m = self.msg
        guard = "RN_PROTO_GEN_%s_H" % m.snake.upper()
        out = self.banner(fname) + ["#ifndef " + guard, "#define " + guard, "",
                                    '#include "base/arena.h"', '#include "proto/wire.h"', "",
                                    "#include <stdbool.h>", "#include <stddef.h>",
                                    "#include <stdint.h>", ""]
        up = m.snake.upper()
        out += ["#define RN_%s_VERSION_MIN %d" % (up, m.valid.lo),
                "#define RN_%s_VERSION_MAX %d" % (up, m.valid.hi)]
        fx = m.flexible.intersect(m.valid)
        out += ["/* First flexible version; -1 if none. */",
                "#define RN_%s_FLEXIBLE_MIN %d" % (up, -1 if fx.empty() else fx.lo), ""]
        order = self.struct_order()
        for st in order:
            out.append("typedef struct %s %s_t;" % (st.c, st.c))
        arrays = []
        for st in order:
            for f in st.fields:
                if f.is_array and f.struct is not None and f.struct not in arrays:
                    arrays.append(f.struct)
        out.append("")
        for st in sorted(arrays, key=lambda s: s.c):
            out += ["typedef struct %s_array {" % st.c,
                    "    %s_t *items;" % st.c,
                    "    int32_t count; /* -1 is null */",
                    "} %s_array_t;" % st.c, ""]
        for st in order:
            out.append("struct %s {" % st.c)
            if not st.fields:
                out.append("    uint8_t unused_; /* no fields */")
            for f in st.fields:
                notes = "versions %s" % self.vr_text(f.versions)
                if not f.nullable.empty():
                    notes += ", nullable %s" % self.vr_text(f.nullable)
                if f.tag is not None:
                    notes += ", tag %d in %s" % (f.tag, self.vr_text(f.tagged))
                about = c_comment(f.about)
                ctype = self.field_c_type(f)
                sep = "" if ctype.endswith("*") else " "
                out.append("    %s%s%s; /* %s%s */" % (ctype, sep, f.snake, notes,
                                                      ("; " + about) if about else ""))
            out += ["};", ""]
        for st in order:
            out.append("/* Sets every field of %s to its schema default. */" % st.name)
            out.append("void %s_init(%s_t *v);" % (st.c, st.c))
        c = m.top.c
        out += ["",
                "/*",
                " * Decodes version `version` of %s from r into out. Strings, bytes and" % m.name,
                " * records borrow from r's input; arrays are allocated in arena. Returns",
                " * r->err: RN_ERR_CORRUPT for malformed bytes, RN_ERR_LIMIT/TOO_LARGE past a",
                " * protocol limit, RN_ERR_NO_MEMORY past the arena budget, RN_ERR_INVALID",
                " * for a version outside the schema's range.",
                " */",
                "rn_err_t %s_decode(rn_reader_t *r, rn_arena_t *arena, int16_t version, %s_t *out);"
                % (c, c),
                "/* Appends the encoding to w (errors are sticky in w->err). */",
                "void %s_encode(rn_writer_t *w, int16_t version, const %s_t *in);" % (c, c),
                "/* Bytes %s_encode would write, records file ranges included. */" % c,
                "size_t %s_size(int16_t version, const %s_t *in);" % (c, c),
                "", "#endif", ""]
        return out

    @staticmethod
    def vr_text(vr):
        if vr.empty():
            return "none"
        if vr.hi == 0x7FFF:
            return "%d+" % vr.lo
        if vr.lo == vr.hi:
            return "%d" % vr.lo
        return "%d-%d" % (vr.lo, vr.hi)

    def source(self, fname, hname):
        m = self.msg
        out = self.banner(fname) + ['#include "%s"' % hname, "",
                                    '#include "base/assert.h"', "",
                                    "#include <string.h>", ""]
        for st in self.reachable_sorted():
            c = st.c
            out.append("static void %s_read(rn_reader_t *r, rn_arena_t *arena, int16_t version, %s_t *v);"
                       % (c, c))
            out.append("static void %s_write(rn_writer_t *w, int16_t version, const %s_t *v);"
                       % (c, c))
            out.append("static size_t %s_measure(int16_t version, const %s_t *v);" % (c, c))
        for st in self.need_sorted():
            out.append("static bool %s_is_default(const %s_t *v);" % (st.c, st.c))
        out.append("")
        for st in self.struct_order():
            out += self.fn_init(st)
        for st in self.need_sorted():
            out += self.fn_is_default(st)
        for st in self.reachable_sorted():
            out += self.fn_read(st)
            out += self.fn_write(st)
            out += self.fn_size(st)
        c = m.top.c
        lo, hi = m.valid.lo, m.valid.hi
        out += ["rn_err_t %s_decode(rn_reader_t *r, rn_arena_t *arena, int16_t version, %s_t *out) {"
                % (c, c),
                "    RN_ASSERT(r != NULL);",
                "    RN_ASSERT(out != NULL);",
                "    %s_init(out);" % c,
                "    if (version < %d || version > %d) rn_reader_fail(r, RN_ERR_INVALID);" % (lo, hi),
                "    if (r->err != RN_OK) return r->err;",
                "    %s_read(r, arena, version, out);" % c,
                "    return r->err;",
                "}", "",
                "void %s_encode(rn_writer_t *w, int16_t version, const %s_t *in) {" % (c, c),
                "    RN_ASSERT(version >= %d);" % lo,
                "    RN_ASSERT(version <= %d);" % hi,
                "    %s_write(w, version, in);" % c,
                "}", "",
                "size_t %s_size(int16_t version, const %s_t *in) {" % (c, c),
                "    RN_ASSERT(version >= %d);" % lo,
                "    RN_ASSERT(version <= %d);" % hi,
                "    return %s_measure(version, in);" % c,
                "}", ""]
        return out

    def reachable_sorted(self):
        order = self.struct_order()
        return [st for st in order if st in self.reachable]

    def need_sorted(self):
        order = self.struct_order()
        return [st for st in order if st in self.need_default]
