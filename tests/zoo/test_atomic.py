import os
import stat

import pytest

from zoo.atomic import atomic_directory, atomic_file


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_atomic_writes_get_the_permissions_a_plain_write_would(tmp_path, umask_022):
    with atomic_file(tmp_path / "plot.png") as staging, open(staging, "w") as f:
        f.write("x")
    with atomic_directory(tmp_path / "preset") as staging:
        with open(os.path.join(staging, "config.json"), "w") as f:
            f.write("{}")
    assert stat.S_IMODE(os.stat(tmp_path / "plot.png").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(tmp_path / "preset").st_mode) == 0o755


def test_a_failed_atomic_write_leaves_the_old_content(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as staging:
            with open(staging, "w") as f:
                f.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.json"]
