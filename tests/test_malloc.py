"""approx.malloc: the glibc malloc tuning switch."""
import os
import subprocess
import sys

from approx import malloc


def test_tune_malloc_is_idempotent():
    first = malloc.tune()
    assert isinstance(first, bool) and malloc.tune() == first


def test_malloc_switch_is_read_from_the_environment_once():
    code = "from approx import malloc; print(malloc.ENABLED)"
    for flag, want in (("0", "False"), ("1", "True")):
        env = dict(os.environ, POLYCOM_TUNE_MALLOC=flag)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        assert out.stdout.strip() == want
