#!/usr/bin/env python3
"""Checks that `sam build` produced one aarch64 Linux `bootstrap` per function.

    python3 scripts/check-bootstrap.py .aws-sam/build [LogicalId…]

Without logical ids, every function `sam build` made a folder for is checked.
"""
import os
import struct
import sys
import zipfile
import io

EM_AARCH64 = 183


def main():
    build, functions = sys.argv[1], sys.argv[2:]
    if not functions:
        functions = sorted(d for d in os.listdir(build) if os.path.isdir(os.path.join(build, d)))
    if not functions:
        print(f"{build}: no functions built")
        sys.exit(1)
    failed = False
    for function in functions:
        path = os.path.join(build, function, "bootstrap")
        try:
            with open(path, "rb") as f:
                header = f.read(64)
        except OSError as err:
            print(f"{function}: no bootstrap ({err})")
            failed = True
            continue
        is_elf = header[:4] == b"\x7fELF"
        machine = struct.unpack_from("<H", header, 18)[0] if is_elf else None
        size = os.path.getsize(path)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(path, "bootstrap")
        ok = is_elf and machine == EM_AARCH64
        failed |= not ok
        print(f"{function}: {'aarch64 ELF' if ok else f'NOT aarch64 (elf={is_elf}, e_machine={machine})'}, "
              f"{size / 1e6:.2f} MB, {len(buffer.getvalue()) / 1e6:.2f} MB zipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
