"""Label mapping: synonyms, ImageNet classes, plurals, traps, user overrides, abstentions."""
from __future__ import annotations

import pytest

from evalkit.errors import UserError
from evalkit.scoring.labels import LabelMapper, builtin_tables, most_frequent_unmapped, normalize_label

CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture(scope="module")
def mapper():
    return LabelMapper(CIFAR)


@pytest.mark.parametrize("label,expected", [
    ("Airliner", "airplane"), ("warplane, military plane", "airplane"), ("Jets", "airplane"),
    ("Sports car", "automobile"), ("sports cars", "automobile"), ("Convertible", "automobile"),
    ("cab, hack, taxi, taxicab", "automobile"), ("Car", "automobile"),
    ("tabby", "cat"), ("tabby, tabby cat", "cat"), ("Persian cat", "cat"), ("Siamese cat, Siamese", "cat"),
    ("Egyptian cat", "cat"), ("kittens", "cat"),
    ("golden retriever", "dog"), ("Shih-Tzu", "dog"), ("German_shepherd", "dog"), ("Puppies", "dog"),
    ("Cardigan, Cardigan Welsh corgi", "dog"), ("toy poodle", "dog"),
    ("Fire trucks", "truck"), ("trailer truck, tractor trailer, trucking rig, rig, articulated lorry, semi", "truck"),
    ("container ship, containership, container vessel", "ship"), ("Cargo ship", "ship"), ("Boats", "ship"),
    ("speedboat", "ship"), ("geese", "bird"), ("Bald eagle", "bird"), ("ostrich, Struthio camelus", "bird"),
    ("tree frog, tree-frog", "frog"), ("bullfrog", "frog"), ("sorrel", "horse"), ("Ponies", "horse"),
    ("Reindeer", "deer"), ("Elk", "deer"), ("  DEER  ", "deer"),
])
def test_labels_map_to_their_class(mapper, label, expected):
    assert mapper.map(label) == CIFAR.index(expected)


@pytest.mark.parametrize("label", [
    "hot dog", "Hot dogs", "prairie dog", "sea horse", "cable car", "passenger car, coach, carriage",
    "pickup, pickup truck", "Cardigan", "Kite", "wreck", "lion", "tiger", "hartebeest", "impala",
    "gazelle", "zebra", "Mobile Phone", "Vehicle", "Grass", "crane", "wolf", "teddy bear", "",
])
def test_labels_that_are_no_cifar_class_abstain(mapper, label):
    assert mapper.map(label) is None


def test_builtin_tables_cover_imagenet_dogs_and_birds_without_conflicts():
    table = builtin_tables().synonyms
    assert sum(1 for v in table.values() if v == "dog") > 150  # 118 breeds and their synonyms
    assert table[normalize_label("Mexican hairless")] == "dog"
    assert table["king penguin"] == "bird" and table["african grey"] == "bird"
    assert "deer" not in {table.get(x) for x in ("hartebeest", "impala", "gazelle")}


def test_decide_takes_the_best_mapped_label_or_abstains_with_the_top_label(mapper):
    assert mapper.decide([("Vehicle", 0.99), ("Wheel", 0.95), ("Sports car", 0.9)]) == (1, "Sports car", 0.9)
    assert mapper.decide([("Grass", 0.9), ("Sky", 0.5)]) == (None, "Grass", 0.9)
    assert mapper.decide([]) == (None, None, None)


def test_user_overrides_win_and_can_force_abstention():
    m = LabelMapper(CIFAR, {"Vehicle": "truck", "Tabby": "", "Hot dog": "dog"})
    assert m.map("vehicles") == CIFAR.index("truck") and m.map("tabby") is None and m.map("hot dog") == 5
    with pytest.raises(UserError, match="unknown class 'kat'.*did you mean 'cat'"):
        LabelMapper(CIFAR, {"tabby": "kat"})


def test_other_datasets_match_their_own_class_names_only():
    m = LabelMapper(["circle_warm", "square_cool"])
    assert m.map("Circle-Warm") == 0 and m.map("square cool") == 1 and m.map("cat") is None


def test_unmapped_labels_are_counted_most_frequent_first():
    assert most_frequent_unmapped(["Grass", "Sky", "Grass", None], n=2) == {"Grass": 2, "Sky": 1}
