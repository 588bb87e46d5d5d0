#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Self-test of tests/layers.py: tiny source trees, compiled with cc into a
temporary build directory, with and without each fault, and the verdict
and the names in the report checked. Run by `make check-layers`; stdlib
only: python3 tests/test_layers_selftest.py"""

import io
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layers  # noqa: E402

CC = os.environ.get("CC", "cc")

# A tree that keeps every rule: the loop (main) calls the control layer
# and the monitor; ctl reads the table; the client uses include/ only.
CLEAN = {
    "include/portwatch/proto.h": "#define PW_PROTO_VERSION 1\n",
    "daemon/table.h": "int table_size(void);\nint table_remove(int id);\n",
    "daemon/table.c": '#include "table.h"\nint table_size(void) { return 1; }\n'
                      "int table_remove(int id) { return id; }\n",
    "daemon/monitor.h": '#include "table.h"\nvoid monitor_handle_event(int id);\n',
    "daemon/monitor.c": '#include "monitor.h"\nvoid monitor_handle_event(int id) { table_remove(id); }\n',
    "daemon/ctl.h": "int ctl_serve(void);\n",
    "daemon/ctl.c": '#include "ctl.h"\n#include "table.h"\n'
                    "int ctl_serve(void) { return table_size(); }\n",
    "daemon/main.c": '#include "ctl.h"\n#include "monitor.h"\n'
                     "int main(void) { monitor_handle_event(1); return ctl_serve(); }\n",
    "cli/client.c": '#include "portwatch/proto.h"\nint client_version(void) { return PW_PROTO_VERSION; }\n',
}


def build_tree(top, files):
    """Write files under top/src and compile every .c into top/src/build/{obj,cli} as the Makefile does."""
    root = os.path.join(top, "src")
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    for srcdir, objdir in (("daemon", "obj"), ("cli", "cli")):
        if not os.path.isdir(os.path.join(root, srcdir)):
            continue
        os.makedirs(os.path.join(root, "build", objdir), exist_ok=True)
        for f in sorted(os.listdir(os.path.join(root, srcdir))):
            if f.endswith(".c"):
                obj = os.path.join("build", objdir, f[:-2] + ".o")
                subprocess.run([CC, "-c", "-MMD", "-MP", "-Iinclude", "-Idaemon",
                                os.path.join(srcdir, f), "-o", obj], cwd=root, check=True)
    return root


class Verdicts(unittest.TestCase):
    def run_check(self, changes, drop=()):
        files = dict(CLEAN)
        files.update(changes)
        for rel in drop:
            files.pop(rel)
        with tempfile.TemporaryDirectory() as top:
            root = build_tree(top, files)
            out = io.StringIO()
            cwd = os.getcwd()
            os.chdir(root)
            try:
                rc = layers.check(root, "build", out)
            finally:
                os.chdir(cwd)
        return rc, out.getvalue()

    def test_clean_tree_passes(self):
        rc, out = self.run_check({})
        self.assertEqual(rc, 0, out)
        self.assertIn("layers: ok:", out)
        self.assertIn("[c] client: 1 files under cli/, 1 objects, 0 violations", out)

    def test_include_cycle_fails(self):
        rc, out = self.run_check({"daemon/table.c": '#include "table.h"\n#include "monitor.h"\n'
                                  + CLEAN["daemon/table.c"].split("\n", 1)[1]})
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL include cycle 1: daemon/monitor <-> daemon/table", out)
        self.assertIn('daemon/table.c:2 #include "monitor.h"', out)
        self.assertIn("0 call cycles", out)

    def test_include_in_comment_is_not_an_edge(self):
        rc, out = self.run_check({"daemon/table.h": '/*\n#include "monitor.h"\n*/\n'
                                  + CLEAN["daemon/table.h"]})
        self.assertEqual(rc, 0, out)

    def test_call_cycle_fails_and_names_symbols(self):
        # table.c calls back into the monitor without including it: only the objects show it
        rc, out = self.run_check({"daemon/table.c": '#include "table.h"\nvoid monitor_handle_event(int id);\n'
                                  "int table_size(void) { monitor_handle_event(0); return 1; }\n"
                                  "int table_remove(int id) { return id; }\n"})
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL call cycle 1: daemon/monitor <-> daemon/table", out)
        self.assertIn("daemon/monitor -> daemon/table: table_remove", out)
        self.assertIn("daemon/table -> daemon/monitor: monitor_handle_event", out)
        self.assertIn("0 include cycles", out)

    def test_three_module_cycle_is_one_component(self):
        rc, out = self.run_check({
            "daemon/a.c": "int b(void);\nint a(void) { return b(); }\n",
            "daemon/b.c": "int c(void);\nint b(void) { return c(); }\n",
            "daemon/c.c": "int a(void);\nint c(void) { return a(); }\n",
        })
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL call cycle 1: daemon/a <-> daemon/b <-> daemon/c", out)
        self.assertIn("daemon/c -> daemon/a: a", out)

    def test_client_including_daemon_fails(self):
        rc, out = self.run_check({"cli/client.c": '#include "portwatch/proto.h"\n#include "table.h"\n'
                                  "int client_version(void) { return PW_PROTO_VERSION; }\n"})
        self.assertEqual(rc, 1, out)
        self.assertIn('FAIL cli/client.c:2 #include "table.h" (daemon/table.h)', out)

    def test_client_calling_daemon_code_fails(self):
        rc, out = self.run_check({"cli/client.c": "int table_size(void);\n"
                                  "int client_version(void) { return table_size(); }\n"})
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL cli/client uses table_size of daemon/table", out)

    def test_no_client_yet_is_skipped(self):
        rc, out = self.run_check({}, drop=("cli/client.c",))
        self.assertEqual(rc, 0, out)
        self.assertIn("[c] client: skipped", out)

    def test_control_layer_forbidden_call_fails(self):
        rc, out = self.run_check({"daemon/ctl.c": '#include "ctl.h"\n#include "table.h"\n'
                                  "int setns(int fd, int type);\n"
                                  "int ctl_serve(void) { setns(3, 0); return table_remove(1); }\n"})
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL daemon/ctl calls setns: enters a namespace", out)
        self.assertIn("FAIL daemon/ctl calls table_remove: deletes table state", out)
        self.assertIn("2 forbidden calls", out)

    def test_forbidden_call_outside_control_layer_is_fine(self):
        # the monitor (CLEAN) calls table_remove: allowed
        rc, out = self.run_check({})
        self.assertNotIn("calls table_remove", out)

    def test_stale_object_is_skipped(self):
        files = dict(CLEAN)
        with tempfile.TemporaryDirectory() as top:
            root = build_tree(top, files)
            os.remove(os.path.join(root, "daemon/ctl.c"))
            out = io.StringIO()
            cwd = os.getcwd()
            os.chdir(root)
            try:
                layers.check(root, "build", out)
            finally:
                os.chdir(cwd)
        self.assertIn("build/obj/ctl.o: skipped, its source daemon/ctl.c is gone", out.getvalue())

    def test_no_objects_cannot_check(self):
        with tempfile.TemporaryDirectory() as top:
            out = io.StringIO()
            self.assertEqual(layers.check(top, os.path.join(top, "build"), out), 2)


class Tarjan(unittest.TestCase):
    def test_graphs(self):
        s = layers.sccs
        self.assertEqual(s({"a", "b", "c"}, {"a": {"b"}, "b": {"c"}}), [])
        self.assertEqual(s({"a", "b"}, {"a": {"b"}, "b": {"a"}}), [["a", "b"]])
        self.assertEqual(s({"a", "b", "c", "d"}, {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"c"}}),
                         [["a", "b"], ["c", "d"]])
        self.assertEqual(s({"a"}, {"a": {"a"}}), [])  # a module calling itself is no cycle
        # a long chain that closes: no recursion limit
        n = 5000
        succ = {i: {i + 1} for i in range(n)}
        succ[n] = {0}
        self.assertEqual(len(s(set(range(n + 1)), succ)[0]), n + 1)


if __name__ == "__main__":
    unittest.main(verbosity=1)
