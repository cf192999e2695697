#!/usr/bin/env python3
"""Compile a magic(5) source file with file(1) -C into OUTPUT.

Usage: magic_compile.py INPUT OUTPUT
file -C writes NAME.mgc into the current directory; this runs it in a
private temporary directory and moves the result, so parallel builds and
source trees stay clean. The compiled format is the one of the libmagic the
build links with (Debian's file and libmagic1 come from one source).
"""
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: magic_compile.py INPUT OUTPUT\n")
        return 2
    src, dst = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        name = os.path.join(tmp, "fwgate.magic")
        shutil.copyfile(src, name)
        subprocess.run(["file", "-C", "-m", name], cwd=tmp, check=True)
        shutil.move(name + ".mgc", dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
