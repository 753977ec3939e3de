"""amass_arrow.loader: batches hold exactly the exported values (bitwise), every row once per epoch, seeded shuffles."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("datasets")

from amass_arrow.export.splits import ExportSpec, SplitsConfig, build_splits  # noqa: E402
from amass_arrow.loader import FrameLoader, load_matrix, torch_dataset  # noqa: E402
from amass_arrow.query.splits import Definition  # noqa: E402

COLUMNS = ["root_orient", "pose_body", "pose_hand", "trans", "joints", "contacts"]


@pytest.fixture(scope="module")
def exports(demo_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("loader")
    cfg = SplitsConfig(definitions=[Definition()], exports=[ExportSpec(kind="hf", unit="frame"),
                                                             ExportSpec(kind="torch", unit="frame")])
    res = build_splits(demo_store, cfg, out, progress=False, log=lambda *a, **k: None)
    return {folder: path for _d, folder, path in res.outputs}


def _exported(path, split="train"):
    """The exported feature values per column, read through datasets (numpy format)."""
    ds = datasets.load_from_disk(str(path))[split].with_format("numpy")
    return {c: np.asarray(ds[c]).reshape(len(ds), -1) for c in COLUMNS}


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


def test_matrix_is_the_export_bitwise(exports):
    m, slices = load_matrix(exports["hf_frame"], "train", COLUMNS)
    ref = _exported(exports["hf_frame"])
    assert m.dtype == np.float32 and m.flags.c_contiguous and m.shape[0] == len(ref["joints"])
    assert list(slices) == COLUMNS
    for c in COLUMNS:
        want = ref[c].astype(np.float32)  # contacts: bool -> 0.0 / 1.0
        assert np.array_equal(_bits(m[:, slices[c]]), _bits(want)), c
    assert set(np.unique(m[:, slices["contacts"]])) <= {0.0, 1.0}


def test_torch_export_gives_the_same_matrix(exports):
    a, sa = load_matrix(exports["hf_frame"], "train", COLUMNS)
    b, sb = load_matrix(exports["torch_frame"], "train", COLUMNS)
    assert sa == sb and np.array_equal(_bits(a), _bits(b))


def test_default_columns_are_the_features(exports):
    _m, slices = load_matrix(exports["hf_frame"], "validation")
    assert list(slices) == COLUMNS  # seq_id, frame, t are not features


def test_epoch_every_row_once_bitwise(exports):
    m, slices = load_matrix(exports["hf_frame"], "train", COLUMNS)
    loader = FrameLoader(exports["hf_frame"], "train", COLUMNS, batch_size=100, seed=7)
    batches = list(loader)
    assert len(batches) == len(loader) == -(-m.shape[0] // 100)
    assert all(set(b) == set(COLUMNS) for b in batches)
    assert [b["joints"].shape[0] for b in batches[:-1]] == [100] * (len(batches) - 1)
    got = {c: torch.cat([b[c] for b in batches]).numpy() for c in COLUMNS}
    perm = loader.order(0).numpy()
    assert np.array_equal(np.sort(perm), np.arange(m.shape[0]))  # every row exactly once
    assert not np.array_equal(perm, np.arange(m.shape[0]))  # and shuffled
    for c in COLUMNS:
        assert got[c].dtype == np.float32
        assert np.array_equal(_bits(got[c]), _bits(m[perm, slices[c]])), c
    # the rows themselves: the multiset of exported rows, independent of the order
    key = lambda a: np.sort(_bits(a).view(np.dtype((np.void, a.shape[1] * 4))).ravel())  # noqa: E731
    full = np.concatenate([got[c] for c in COLUMNS], axis=1)
    assert np.array_equal(key(full), key(m))


def test_shuffle_is_seeded(exports):
    a = FrameLoader(exports["hf_frame"], "train", ["joints"], batch_size=64, seed=3)
    b = FrameLoader(exports["hf_frame"], "train", ["joints"], batch_size=64, seed=3)
    c = FrameLoader(exports["hf_frame"], "train", ["joints"], batch_size=64, seed=4)
    assert torch.equal(torch.cat([x["joints"] for x in a]), torch.cat([x["joints"] for x in b]))
    assert not torch.equal(a.order(0), c.order(0))
    assert not torch.equal(a.order(0), a.order(1))  # a new shuffle each epoch
    a.set_epoch(1)
    assert torch.equal(torch.cat([x["joints"] for x in a]), a.matrix[a.order(1)])
    ordered = FrameLoader(exports["hf_frame"], "train", ["joints"], batch_size=64, shuffle=False)
    assert torch.equal(torch.cat([x["joints"] for x in ordered]), ordered.matrix)


def test_drop_last_and_torch_adapter(exports):
    loader = FrameLoader(exports["hf_frame"], "train", ["trans"], batch_size=50, seed=1, drop_last=True)
    n = loader.num_rows
    assert len(loader) == n // 50 and all(b["trans"].shape == (50, 3) for b in loader)
    loader = FrameLoader(exports["hf_frame"], "train", ["trans"], batch_size=50, seed=1)
    dl = torch.utils.data.DataLoader(torch_dataset(loader), batch_size=None)
    got = torch.cat([b["trans"] for b in dl])
    assert torch.equal(got, loader.matrix[loader.order(0)])
