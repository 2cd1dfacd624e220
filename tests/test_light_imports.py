"""The command line and the data manifest start without importing torch (it takes seconds to import)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHECK = "import sys; {stmt}; heavy = [m for m in ('torch', 'numpy', 'PIL') if m in sys.modules]; print(heavy)"


@pytest.mark.parametrize("stmt", [
    "import mdfloss",
    "import mdfloss.cli",
    "from mdfloss.cli import main; main(['--help'])",
    "from mdfloss.cli import main; main(['data', 'list'])",
    "from mdfloss.cli import main; main(['train-restorer', '--help'])",
])
def test_no_torch_until_it_is_needed(stmt):
    out = subprocess.run([sys.executable, "-c", CHECK.format(stmt=stmt)], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


def test_the_lazy_names_still_resolve():
    import mdfloss

    assert mdfloss.MDFLoss.__name__ == "MDFLoss" and callable(mdfloss.train_loss)
    assert set(mdfloss.__all__) <= set(dir(mdfloss)) | set(mdfloss._LAZY)
    with pytest.raises(AttributeError):
        mdfloss.no_such_name  # noqa: B018
