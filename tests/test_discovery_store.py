"""Discovery on a workspace: reading the predictions contract, storing sets, CLI, export."""
import json

import numpy as np
import pytest
from PIL import Image

from discovery_helpers import probs_from_correct, write_predictions
from evalkit.artifacts import image_hash, load_evalset as load_set
from evalkit.discovery import DiscoverySettings, load_correctness
from evalkit.discovery.run import discover_workspace
from evalkit.errors import DataError, UserError

POOL = "synthetic/test"
PROBES = ("color", "control", "shape", "texture")


@pytest.fixture()
def pool_images(synthetic_dataset):
    return synthetic_dataset.split("test")        # 100 images, 10 classes


def _write_planted(ws, pool_images, seeds=range(4)):
    rng = np.random.default_rng(0)
    labels = pool_images.labels
    n = len(labels)
    acc = rng.uniform(0.3, 0.9, n)
    probs = {}
    for p in PROBES:
        for s in seeds:
            c = rng.random(n) < acc
            if p == "shape":
                c[:40] = True
            if p == "texture":
                c[:40] = False
            probs[(p, s)] = probs_from_correct(c, labels, 10, rng)
    write_predictions(ws, POOL, probs, labels, pool_images.ids)
    return probs


SETTINGS = DiscoverySettings(size=20, n_boot=200)


def test_reads_predictions_contract(workspace, pool_images):
    probs = _write_planted(workspace, pool_images)
    m = load_correctness(workspace, POOL)
    assert m.probes == PROBES and m.seeds("shape") == (0, 1, 2, 3)
    assert m.correct[m.row_indices("shape", [0])][0, :40].all()
    assert set(m.sources) == {f"{p}/seed{s}/{POOL}" for p, s in probs}
    with pytest.raises(UserError, match="no predictions for pool 'cifar10/test'.*synthetic/test"):
        load_correctness(workspace, "cifar10/test")


def test_discover_stores_sets_with_hashes_and_skips_rerun(workspace, pool_images):
    _write_planted(workspace, pool_images)
    run = discover_workspace(workspace, POOL, SETTINGS, pool_images)
    assert not run.skipped
    doc = run.document
    assert doc["seed_split"]["selection"]["shape"] and doc["settings"]["size"] == 20
    kept = [s["id"] for s in doc["subsets"] if s["kept"]]
    assert "shape>texture" in kept
    stored = {a.key for a in workspace.catalog.list("evalset")}
    assert stored == set(kept)
    es = load_set(workspace, "shape>texture")
    assert es["kind"] == "pair" and es["probe_b"] == "texture" and len(es["indices"]) == 20
    assert set(es["indices"]) <= set(range(40))
    i = es["indices"][0]
    assert es["hashes"][0] == image_hash(pool_images.images[i]) and es["ids"][0] == pool_images.ids[i]
    assert es["gap_ci"][0] > 0 and es["kept"] is True
    assert set(es["validation_seeds"]) == {"shape", "texture"}
    assert not set(es["validation_seeds"]["shape"]) & set(es["selection_seeds"]["shape"])
    again = discover_workspace(workspace, POOL, SETTINGS, lambda: pytest.fail("data loaded on skip"))
    assert again.skipped and again.document["subsets"] == doc["subsets"]


def test_minisets_hash_has_same_definition(pool_images):
    minisets = pytest.importorskip("evalkit.minisets")
    if not hasattr(minisets, "image_hash"):
        pytest.skip("evalkit.minisets.image_hash not written yet")
    assert minisets.image_hash(pool_images.images[3]) == image_hash(pool_images.images[3])


def test_mismatched_dataset_is_a_data_error(workspace, pool_images, synthetic_dataset):
    _write_planted(workspace, pool_images)
    with pytest.raises(DataError, match="ids do not match"):
        discover_workspace(workspace, POOL, SETTINGS, synthetic_dataset.split("train"))


def test_cli_discover_list_show_export(workspace, pool_images, run_cli, tmp_path):
    _write_planted(workspace, pool_images)   # pool_images == load_dataset(data="synthetic:40/10")
    ws = str(workspace.root)
    code, out, err = run_cli("discover", "--size", "20", "--n-boot", "200", "--pool", POOL, "-w", ws,
                             "--data", "synthetic:40/10")
    assert code == 0, err
    assert "shape>texture" in out and "kept" in out and "mean validated gap" in out
    code, out, _ = run_cli("sets", "list", "-w", ws)
    assert code == 0 and "shape>texture" in out
    code, out, _ = run_cli("sets", "show", "shape>texture", "-w", ws)
    assert code == 0 and json.loads(out)["n"] == 20
    code, _, err = run_cli("sets", "show", "shape>textur", "-w", ws)
    assert code == 2 and "did you mean 'shape>texture'" in err
    dest = tmp_path / "export"
    code, out, err = run_cli("sets", "export", "shape>texture", "--to", str(dest), "-w", ws,
                             "--data", "synthetic:40/10")
    assert code == 0, err
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["separates"] == {"right": "shape", "wrong": "texture"} and manifest["n"] == 20
    assert manifest["gap_ci"][0] > 0
    first = manifest["images"][0]
    png = np.asarray(Image.open(dest / first["file"]))
    assert first["file"].startswith(pool_images.class_names[first["label"]] + "/")
    assert image_hash(png) == first["hash"] == image_hash(pool_images.images[first["index"]])
    assert len(list(dest.glob("*/*.png"))) == 20
    code, _, err = run_cli("sets", "export", "shape>texture", "--to", str(dest), "-w", ws,
                           "--data", "synthetic:40/10")
    assert code == 2 and "not empty" in err


def test_cli_refuses_single_seed_probe(workspace, pool_images, run_cli):
    _write_planted(workspace, pool_images, seeds=[0])
    code, _, err = run_cli("discover", "--pool", POOL, "-w", str(workspace.root))
    assert code == 2 and "color" in err and "fewer than 2 seeds" in err
    assert len(err.strip().splitlines()) == 1


def test_probes_option_restricts_the_bank_and_names_unknown_probes(workspace, pool_images, run_cli):
    _write_planted(workspace, pool_images)
    m = load_correctness(workspace, POOL, ["shape", "texture"])
    assert m.probes == ("shape", "texture") and all(k.split("/")[0] in ("shape", "texture") for k in m.sources)
    full = discover_workspace(workspace, POOL, SETTINGS, pool_images)
    three = discover_workspace(workspace, POOL, SETTINGS, pool_images, probes=["shape", "texture", "control"])
    assert not three.skipped and three.document["probes"] == ["control", "shape", "texture"]
    ids = {s["id"] for s in three.document["subsets"]}
    assert len(ids) == 3 * 2 + 3 and "shape>texture" in ids and not any("color" in i for i in ids)
    assert len(full.document["subsets"]) == 4 * 3 + 4
    code, _, err = run_cli("discover", "--pool", POOL, "-w", str(workspace.root), "--probes", "shape,textur")
    assert code == 2 and "'textur'" in err and "did you mean 'texture'" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_end_to_end_with_probe_stage(workspace, synthetic_dataset):
    """Predictions written by the probes stage itself (sklearn probes) feed discovery."""
    probes = pytest.importorskip("evalkit.probes")
    probes.train_bank(workspace, synthetic_dataset, ["knn", "random_forest"], [0, 1], train_size=200,
                      epochs=1, progress=False)
    run = discover_workspace(workspace, POOL, DiscoverySettings(size=10, n_boot=200), synthetic_dataset)
    doc = run.document
    assert doc["class_names"] == list(synthetic_dataset.class_names)
    assert doc["seed_split"]["selection"] == {"knn": [0], "random_forest": [0]}
    assert {s["id"] for s in doc["subsets"]} == {"knn>random_forest", "random_forest>knn"}
    assert all(s["n"] == 10 for s in doc["subsets"])


def test_store_flagged_and_stale_sets_are_replaced(workspace, pool_images):
    _write_planted(workspace, pool_images)
    doc = discover_workspace(workspace, POOL, SETTINGS, pool_images, store_flagged=True).document
    stored = {a.key for a in workspace.catalog.list("evalset")}
    assert stored == {s["id"] for s in doc["subsets"] if s["n"]}
    flagged = [s["id"] for s in doc["subsets"] if not s["kept"] and s["n"]]
    assert flagged and load_set(workspace, flagged[0])["kept"] is False
    discover_workspace(workspace, POOL, SETTINGS, pool_images)   # default: kept sets only
    assert {a.key for a in workspace.catalog.list("evalset")} == {s["id"] for s in doc["subsets"] if s["kept"]}
    assert not (workspace.root / "sets" / f"{flagged[0]}.json").exists()
